package cache

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"

	"github.com/pdiffagent/pdiffagent/sysio"
)

// StrongSize is the size of a tier-2 hash (wire.StrongSize).
const StrongSize = 32

// Entry is one block's hashes: tier 1 (xxhash64 or XXH3-64) and tier 2. A Strong of
// all zero bytes (NoStrong) means the tier-2 hash is unknown: a block a
// session sent or wrote is recorded with its tier-1 hash only, so that the
// bulk path pays no tier-2 hash; the next run that needs it reads the
// block and hashes it. A real digest of all zeros cannot be met in
// practice, and a record is local and checksummed.
type Entry struct {
	Weak   uint64
	Strong [StrongSize]byte
}

// NoStrong is the Strong of an Entry whose tier-2 hash is unknown.
var NoStrong [StrongSize]byte

// HasStrong reports whether e holds its block's tier-2 hash.
func (e Entry) HasStrong() bool { return e.Strong != NoStrong }

// Errors. A record or journal that fails any check is ignored, never
// trusted; the caller reads the file instead.
var (
	ErrCorrupt    = errors.New("cache: record corrupt or torn")
	ErrIncomplete = errors.New("cache: record does not cover every block")
	ErrMismatch   = errors.New("cache: record is for another block size, hash or size")
)

// Record file layout (all integers little endian):
//
//	header   headerSize bytes, at offset 0
//	chunk i  at headerSize + i*chunkStride, for i in [0, ceil(Blocks/chunkBlocks))
//
// The header:
//
//	0   magic       8  "PDACREC1"
//	8   nonce      16  random per record; seeds every chunk's checksum
//	24  blockSize   4
//	28  method      1  tier-2 hash id (engine.StrongHash)
//	29  weak        1  tier-1 hash id (1 = xxhash64, 2 = XXH3-64)
//	30  device      1  1 for a block device
//	31  lazy        1  1 when some entries hold no tier-2 hash (NoStrong)
//	32  dev         8
//	40  ino         8
//	48  size        8
//	56  mtime       8
//	64  ctime       8
//	72  fstype      8
//	80  blocks      8
//	88  fingerprint 32 (devices: sampled-block digest; zero for files)
//	120 crc32c      4  of bytes [0, 120)
//
// A chunk: first (8), count (4), crc32c (4) of nonce||first||count||entries,
// then count entries of entrySize bytes (weak 8, strong 32; a strong of all
// zeros is NoStrong: unknown). Every chunk
// but the last holds exactly chunkBlocks entries, so chunk i is found by
// arithmetic and a range is read without touching the rest.
const (
	magic       = "PDACREC1"
	headerSize  = 128
	headerCRCAt = 120
	nonceSize   = 16
	fpSize      = 32
	entrySize   = 8 + StrongSize
	chunkHead   = 16
	chunkBlocks = 1024
	chunkStride = chunkHead + chunkBlocks*entrySize

	// WeakXXH64 and WeakXXH3 are the tier-1 hash ids of the header.
	WeakXXH64 = 1
	WeakXXH3  = 2

	// MethodXXH3 is set in a method (Header.Method, and the method every
	// Store call takes) whose tier-1 hash is XXH3-64 rather than xxhash64;
	// the low bits are the tier-2 hash id. The header stores the two ids
	// in their own bytes; a journal stores the method byte whole.
	MethodXXH3 uint8 = 0x80
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Header describes a record: what was hashed and the file's identity then.
type Header struct {
	BlockSize   int
	Method      uint8 // engine.StrongHash, with MethodXXH3 for an XXH3-64 tier 1
	Identity    sysio.Identity
	Blocks      uint64
	Fingerprint [fpSize]byte // devices only
	// Lazy is set when some entries hold no tier-2 hash (NoStrong): a
	// session that uses the record and hashes those blocks records them
	// again, with it.
	Lazy  bool
	nonce [nonceSize]byte
}

// BlocksFor is the number of blocks of a file of size bytes.
func BlocksFor(size int64, blockSize int) uint64 {
	if size <= 0 {
		return 0
	}
	return uint64((size + int64(blockSize) - 1) / int64(blockSize))
}

func chunkCount(blocks uint64) uint64 { return (blocks + chunkBlocks - 1) / chunkBlocks }

// chunkLen is the number of entries chunk c holds in a record of blocks.
func chunkLen(blocks, c uint64) int {
	if n := blocks - c*chunkBlocks; n < chunkBlocks {
		return int(n)
	}
	return chunkBlocks
}

func chunkOffset(c uint64) int64 { return headerSize + int64(c)*chunkStride }

func (h *Header) encode() []byte {
	b := make([]byte, headerSize)
	copy(b, magic)
	copy(b[8:], h.nonce[:])
	le := binary.LittleEndian
	le.PutUint32(b[24:], uint32(h.BlockSize))
	b[28], b[29] = h.Method&^MethodXXH3, WeakXXH64
	if h.Method&MethodXXH3 != 0 {
		b[29] = WeakXXH3
	}
	if h.Identity.Device {
		b[30] = 1
	}
	if h.Lazy {
		b[31] = 1
	}
	id := h.Identity
	for i, v := range []uint64{id.Dev, id.Ino, uint64(id.Size), uint64(id.Mtime), uint64(id.Ctime), id.FSType, h.Blocks} {
		le.PutUint64(b[32+8*i:], v)
	}
	copy(b[88:], h.Fingerprint[:])
	le.PutUint32(b[headerCRCAt:], crc32.Checksum(b[:headerCRCAt], castagnoli))
	return b
}

func decodeHeader(b []byte) (Header, error) {
	var h Header
	if len(b) < headerSize || string(b[:8]) != magic {
		return h, fmt.Errorf("%w: bad header", ErrCorrupt)
	}
	le := binary.LittleEndian
	if le.Uint32(b[headerCRCAt:]) != crc32.Checksum(b[:headerCRCAt], castagnoli) || (b[29] != WeakXXH64 && b[29] != WeakXXH3) || b[28]&MethodXXH3 != 0 || b[30] > 1 || b[31] > 1 {
		return h, fmt.Errorf("%w: header checksum", ErrCorrupt)
	}
	copy(h.nonce[:], b[8:])
	h.BlockSize = int(le.Uint32(b[24:]))
	h.Method = b[28]
	if b[29] == WeakXXH3 {
		h.Method |= MethodXXH3
	}
	u := func(i int) uint64 { return le.Uint64(b[32+8*i:]) }
	h.Identity = sysio.Identity{Dev: u(0), Ino: u(1), Size: int64(u(2)), Mtime: int64(u(3)),
		Ctime: int64(u(4)), FSType: u(5), Device: b[30] == 1}
	h.Blocks = u(6)
	h.Lazy = b[31] == 1
	copy(h.Fingerprint[:], b[88:])
	if h.BlockSize <= 0 || h.Identity.Size < 0 || h.Blocks != BlocksFor(h.Identity.Size, h.BlockSize) {
		return h, fmt.Errorf("%w: header fields", ErrCorrupt)
	}
	return h, nil
}

// chunkCRC is the checksum of one chunk or journal frame: seeded with
// the record's nonce so that a chunk of another record never passes.
func chunkCRC(nonce []byte, head, payload []byte) uint32 {
	c := crc32.Update(0, castagnoli, nonce)
	c = crc32.Update(c, castagnoli, head)
	return crc32.Update(c, castagnoli, payload)
}

func putEntry(b []byte, e *Entry) {
	binary.LittleEndian.PutUint64(b, e.Weak)
	copy(b[8:entrySize], e.Strong[:])
}

func getEntry(b []byte, e *Entry) {
	e.Weak = binary.LittleEndian.Uint64(b)
	copy(e.Strong[:], b[8:entrySize])
}
