package wire

import (
	"bytes"
	"strings"
)

// seq returns n bytes that differ from block to block.
func seq(n int, seed byte) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7) + seed
	}
	return b
}

func sessionID(seed byte) (id [SessionIDSize]byte) {
	copy(id[:], seq(SessionIDSize, seed))
	return id
}

func strongs(n int) [][StrongSize]byte {
	s := make([][StrongSize]byte, n)
	for i := range s {
		copy(s[i][:], seq(StrongSize, byte(i)))
	}
	return s
}

func hashes(n int) []uint64 {
	h := make([]uint64, n)
	for i := range h {
		h[i] = uint64(i)*0x9e3779b97f4a7c15 + 1
	}
	return h
}

// verdict builds a Verdict whose block i is needed when need(i).
func verdict(first uint64, count int, need func(int) bool) *Verdict {
	v := &Verdict{First: first, Count: uint32(count)}
	if count > 0 {
		v.Need = make([]bool, count)
	}
	matched := 0
	for i := range v.Need {
		v.Need[i] = need(i)
		if !v.Need[i] {
			matched++
		}
	}
	if matched > 0 {
		v.Strong = strongs(matched)
	}
	return v
}

// refineBlock is a RefineBlock of n sub-blocks.
func refineBlock(index uint32, n int) RefineBlock {
	return RefineBlock{Index: index, Weak: hashes(n), Strong: strongs(n)}
}

// samples returns valid messages of every type, covering edge values.
func samples() []Message {
	return append([]Message{
		NewHello(),
		&Hello{Version: 0xfffe},
		&Hello{Version: ProtocolVersion, Caps: 1<<64 - 1},
		&Hello{Version: 1},
		&Keepalive{},
		&Keepalive{Done: 1<<64 - 1},
		&Open{
			Op: OpPush, SessionID: sessionID(1), Path: "dir/sub/file.img",
			Size: 1 << 40, ModTime: -5, Mode: 0o644, BlockSize: 1 << 20,
			Workers: 8, Strong: 2, Codec: CodecLZ4, Flags: FlagDryRun | FlagWholeFile, Start: 1 << 20, End: 3 << 20,
		},
		&Open{Op: OpPull, BlockSize: MinBlockSize, Workers: 1},
		&Open{Op: OpPush, BlockSize: MaxBlockSize, Workers: 2, Flags: FlagNoCache | 14<<flagMinBlockShift}, // sub-blocks of MaxBlockSize
		&Open{Op: OpPush, BlockSize: 1 << 20, Workers: 2, Flags: 4 << flagMinBlockShift},                   // of 64 KiB
		&Open{
			Op: OpPull, Path: strings.Repeat("é", MaxPathLen/2), BlockSize: MaxBlockSize,
			Workers: MaxWorkers, Size: 1<<63 - 1, ModTime: -1 << 63, Mode: 1<<32 - 1,
		},
		&OpenReply{Size: 123456789, ModTime: 1700000000123456789, Mode: 0o100755, Workers: 4},
		&OpenReply{Workers: MaxWorkers},
		&OpenReply{Workers: 2, RecordDigest: [DigestSize]byte{0: 1, 31: 0xff}},
		&Attach{SessionID: sessionID(9), Worker: 0},
		&Attach{SessionID: sessionID(3), Worker: MaxWorkers - 1},
		&Error{Code: CodeNotFound, Message: "no such file: a/b"},
		&Error{Code: 0xffff},
		&Error{Code: CodeIO, Message: strings.Repeat("x", MaxErrorLen)},
		&WeakBatch{First: 42},
		&WeakBatch{First: 7, Hashes: hashes(3)},
		&WeakBatch{First: 1<<64 - 1 - MaxBatch, Hashes: hashes(MaxBatch)},
		&Verdict{First: 5},
		verdict(0, 1, func(int) bool { return true }),
		verdict(0, 1, func(int) bool { return false }),
		verdict(100, 9, func(i int) bool { return i%3 == 0 }),
		verdict(8, 16, func(i int) bool { return i < 8 }),
		verdict(1<<40, MaxBatch, func(i int) bool { return i%5 == 1 }),
		&Data{Block: 0, Codec: CodecNone, RawLen: 1, Payload: []byte{0xaa}},
		&Data{Block: 77, Codec: CodecNone, RawLen: MinBlockSize, Payload: seq(MinBlockSize, 1)},
		&Data{Block: 1<<64 - 1, Codec: CodecLZ4, RawLen: MaxBlockSize, Payload: seq(100, 2)},
		&Data{Block: 3, Codec: CodecLZ4, RawLen: 10, Payload: seq(10, 3)},
		&Data{Block: 4, Codec: CodecZero, RawLen: 4096},
		&StripeEnd{},
		&StripeEnd{Sent: 1<<64 - 1, Confirmed: 12},
		&Final{Size: 0, ModTime: 1, Mode: 2},
		&Final{Size: 1<<63 - 1, ModTime: -1, Mode: 0o777, Uid: 1000, Gid: 1<<32 - 1, Digest: [DigestSize]byte{1, 2, 3, 31: 9}},
		&FinalAck{Written: 1, Confirmed: 2, Bytes: 3},
		&FinalAck{},
		&Report{},
		&Report{Read: 1<<64 - 1, Cache: CacheResume},
		&Refine{First: 3, SubSize: MinBlockSize},
		&Refine{First: 8, SubSize: MinBlockSize, Blocks: []RefineBlock{refineBlock(0, 2), refineBlock(5, 256)}},
		&Refine{First: 1<<64 - MaxBatch, SubSize: MaxBlockSize / 2, Blocks: []RefineBlock{refineBlock(MaxBatch-1, 2)}},
		&Refine{SubSize: MinBlockSize, Blocks: []RefineBlock{refineBlock(1, MaxSubBlocks-2), refineBlock(2, 2)}},
		&Refine{First: 4, SubSize: MinBlockSize, Blocks: []RefineBlock{{Index: 0, WeakOnly: true, Weak: hashes(3)}, refineBlock(1, 2), {Index: 2, WeakOnly: true, Weak: hashes(256)}}},
		&Refine{SubSize: MinBlockSize, Blocks: []RefineBlock{{Index: 1, WeakOnly: true, Weak: hashes(MaxSubBlocks)}}},
		&SubData{Block: 9, Offset: 0, Codec: CodecNone, RawLen: MinBlockSize, Payload: seq(MinBlockSize, 4)},
		&SubData{Block: 1<<64 - 1, Offset: MaxBlockSize - MinBlockSize, Codec: CodecLZ4, RawLen: MinBlockSize, Payload: seq(9, 5)},
		&SubData{Block: 2, Offset: 8192, Codec: CodecZero, RawLen: 1},
	}, append(append(pipeSamples(), rollingSamples()...), treeSamples()...)...)
}

// stream returns the frames of msgs, concatenated, and the end offset of each.
func stream(msgs []Message) ([]byte, []int) {
	var buf bytes.Buffer
	ends := make([]int, len(msgs))
	for i, m := range msgs {
		if err := WriteFrame(&buf, m); err != nil {
			panic(err)
		}
		ends[i] = buf.Len()
	}
	return buf.Bytes(), ends
}
