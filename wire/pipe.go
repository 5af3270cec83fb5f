package wire

// Pipe mode: `pdiffagent checksum DST | pdiffagent retrieve SRC | pdiffagent
// save DST`. Each pipe carries one stream, one way, with no reply:
//
//	checksum -> retrieve   Hello, ChecksumHeader, HashBatch…, ChecksumEnd
//	retrieve -> save       Hello, RetrieveHeader, Data…, RetrieveEnd
//
// Either stream may end early with an Error instead of its last frame. A
// stream that just stops (no final frame, no Error) was cut: the reader
// reports it as truncated. Layouts (big-endian):
//
//	ChecksumHeader  BlockSize u32, Strong u8, Start i64, End i64, Size i64
//	HashBatch       First u64, Count u32 (<= MaxBatch),
//	                Count × (Weak u64, Strong [StrongSize])
//	ChecksumEnd     Blocks u64
//	RetrieveHeader  Size i64, ModTime i64, Mode u32, BlockSize u32,
//	                Strong u8, Start i64, End i64
//	RetrieveEnd     Blocks u64, Sent u64, Confirmed u64, Collisions u64,
//	                Bytes u64, Digest [StrongSize]
const (
	TypeChecksumHeader Type = 0x20 // checksum -> retrieve: the target's size and the block grid
	TypeHashBatch      Type = 0x21 // checksum -> retrieve: both hashes of consecutive target blocks
	TypeChecksumEnd    Type = 0x22 // checksum -> retrieve: every hash was sent
	TypeRetrieveHeader Type = 0x23 // retrieve -> save: the source's size, time, mode and grid
	TypeRetrieveEnd    Type = 0x24 // retrieve -> save: counts and the end-to-end digest
)

// ChecksumHeader opens the checksum stream. The range [Start, End) is what
// the user asked for (End 0: to the end of the file, as in Open); Size is
// the target's size (0 when it does not exist). Hashes follow for the
// blocks of [Start, min(End, Size)), the last one possibly short.
type ChecksumHeader struct {
	BlockSize uint32
	Strong    uint8 // engine's strong hash id, non-zero
	Start     int64
	End       int64
	Size      int64
}

// BlockSum is the pair of hashes of one block.
type BlockSum struct {
	Weak   uint64
	Strong [StrongSize]byte
}

// HashBatch is the hashes of len(Sums) consecutive blocks starting at First.
type HashBatch struct {
	First uint64
	Sums  []BlockSum // len <= MaxBatch
}

// ChecksumEnd closes the checksum stream: Blocks hashes were sent.
type ChecksumEnd struct {
	Blocks uint64
}

// RetrieveHeader opens the retrieve stream: the source's Size, ModTime
// (unix nanoseconds) and Mode, and the grid and range of the sync (End 0:
// Size; a range that is not the whole file never resizes the target).
type RetrieveHeader struct {
	Size      int64
	ModTime   int64
	Mode      uint32
	BlockSize uint32
	Strong    uint8
	Start     int64
	End       int64
}

// RetrieveEnd closes the retrieve stream. Of the range's Blocks, Sent went
// as Data (Collisions of them because only their strong hash differed) and
// Confirmed were equal; Bytes is the Data payload total. Digest is the
// sha256 of the strong hashes of every source block of the range, in order.
type RetrieveEnd struct {
	Blocks     uint64
	Sent       uint64
	Confirmed  uint64
	Collisions uint64
	Bytes      uint64
	Digest     [StrongSize]byte
}

// checkGrid validates a block size and a range shared by the two headers.
func checkGrid(t Type, blockSize uint32, strong uint8, start, end int64) error {
	switch {
	case blockSize < MinBlockSize || blockSize > MaxBlockSize || blockSize&(blockSize-1) != 0:
		return errInvalid(t, "block size %d: not a power of two in [%d, %d]", blockSize, MinBlockSize, MaxBlockSize)
	case strong == 0:
		return errInvalid(t, "no strong hash")
	case start < 0 || end < 0 || (end != 0 && end <= start):
		return errInvalid(t, "bad range [%d, %d)", start, end)
	case start%int64(blockSize) != 0:
		return errInvalid(t, "start %d is not a multiple of the block size %d", start, blockSize)
	}
	return nil
}
