package wire

import (
	"encoding/binary"
	"errors"
	"testing"
)

func blockSums(n int) []BlockSum {
	s := make([]BlockSum, n)
	for i, h := range hashes(n) {
		s[i].Weak = h
		copy(s[i].Strong[:], seq(StrongSize, byte(i)))
	}
	return s
}

// pipeSamples returns valid pipe-mode messages; samples includes them, so
// the round-trip, truncation, trailing-byte and fuzz tests cover them.
func pipeSamples() []Message {
	return []Message{
		&ChecksumHeader{BlockSize: 1 << 20, Strong: 1},
		&ChecksumHeader{BlockSize: MinBlockSize, Strong: 2, Start: 8 << 10, End: 1 << 40, Size: 1<<63 - 1},
		&ChecksumHeader{BlockSize: MaxBlockSize, Strong: 0xff, Start: MaxBlockSize, Size: 5},
		&HashBatch{First: 9},
		&HashBatch{First: 3, Sums: blockSums(2)},
		&HashBatch{First: 1<<64 - 1 - MaxBatch, Sums: blockSums(MaxBatch)},
		&ChecksumEnd{},
		&ChecksumEnd{Blocks: 1<<64 - 1},
		&RetrieveHeader{BlockSize: MinBlockSize, Strong: 1},
		&RetrieveHeader{Size: 10<<20 + 7, ModTime: -3, Mode: 0o100600, BlockSize: 1 << 20, Strong: 2, Start: 1 << 20, End: 10<<20 + 7},
		&RetrieveHeader{Size: 1 << 40, ModTime: 1 << 62, Mode: 1<<32 - 1, BlockSize: 64 << 10, Strong: 1, Start: 1 << 30, End: 2 << 30},
		&RetrieveEnd{},
		&RetrieveEnd{Blocks: 10, Sent: 4, Confirmed: 6, Collisions: 1, Bytes: 1 << 22, Digest: [StrongSize]byte{1, 2, 3, 31: 9}},
		&RetrieveEnd{Blocks: 1<<64 - 1, Sent: 1<<64 - 1, Collisions: 1<<64 - 1, Bytes: 1<<64 - 1},
	}
}

func TestPipeInvalid(t *testing.T) {
	okSum := func(f func(h *ChecksumHeader)) *ChecksumHeader {
		h := &ChecksumHeader{BlockSize: 1 << 16, Strong: 1, Start: 1 << 16, End: 4 << 16, Size: 100}
		f(h)
		return h
	}
	okRet := func(f func(h *RetrieveHeader)) *RetrieveHeader {
		h := &RetrieveHeader{Size: 5<<16 + 1, BlockSize: 1 << 16, Strong: 1, Start: 1 << 16, End: 5<<16 + 1}
		f(h)
		return h
	}
	tests := []struct {
		m    Message
		want error
	}{
		{okSum(func(h *ChecksumHeader) { h.BlockSize = 3 << 12 }), ErrInvalid},
		{okSum(func(h *ChecksumHeader) { h.BlockSize = MinBlockSize / 2 }), ErrInvalid},
		{okSum(func(h *ChecksumHeader) { h.BlockSize = MaxBlockSize * 2 }), ErrInvalid},
		{okSum(func(h *ChecksumHeader) { h.Strong = 0 }), ErrInvalid},
		{okSum(func(h *ChecksumHeader) { h.Start = -1 << 16 }), ErrInvalid},
		{okSum(func(h *ChecksumHeader) { h.Start = 1 }), ErrInvalid},
		{okSum(func(h *ChecksumHeader) { h.End = h.Start }), ErrInvalid},
		{okSum(func(h *ChecksumHeader) { h.End = 4<<16 + 1 }), ErrInvalid},
		{okSum(func(h *ChecksumHeader) { h.End = -1 }), ErrInvalid},
		{okSum(func(h *ChecksumHeader) { h.Size = -1 }), ErrInvalid},
		{&HashBatch{Sums: make([]BlockSum, MaxBatch+1)}, ErrTooLarge},
		{&HashBatch{First: 1<<64 - 1, Sums: make([]BlockSum, 1)}, ErrInvalid},
		{okRet(func(h *RetrieveHeader) { h.Size = -1 }), ErrInvalid},
		{okRet(func(h *RetrieveHeader) { h.Strong = 0 }), ErrInvalid},
		{okRet(func(h *RetrieveHeader) { h.BlockSize = 0 }), ErrInvalid},
		{okRet(func(h *RetrieveHeader) { h.Start = h.Size + 1<<16 - 1 }), ErrInvalid},
		{okRet(func(h *RetrieveHeader) { h.End = h.Size + 1 }), ErrInvalid},
		{okRet(func(h *RetrieveHeader) { h.End = 3<<16 + 5 }), ErrInvalid},
		{okRet(func(h *RetrieveHeader) { h.Start, h.End = 2<<16, 1<<16 }), ErrInvalid},
		{&RetrieveEnd{Blocks: 3, Sent: 1, Confirmed: 1}, ErrInvalid},
		{&RetrieveEnd{Blocks: 3, Sent: 4}, ErrInvalid},
		{&RetrieveEnd{Blocks: 3, Sent: 1, Confirmed: 2, Collisions: 2}, ErrInvalid},
	}
	for i, tt := range tests {
		err := tt.m.(validator).Validate()
		if !errors.Is(err, tt.want) {
			t.Errorf("%d (%v): Validate: got %v, want %v", i, tt.m.Type(), err, tt.want)
			continue
		}
		if _, err := Decode(tt.m.Type(), tt.m.Append(nil)); !errors.Is(err, tt.want) {
			t.Errorf("%d (%v): encoding of invalid message decodes with %v", i, tt.m.Type(), err)
		}
	}
}

// TestHashBatchCountBeforeAlloc checks that a huge announced count is refused
// before anything is allocated, and a plausible one that the payload lacks
// is truncated.
func TestHashBatchCountBeforeAlloc(t *testing.T) {
	b := binary.BigEndian.AppendUint32(make([]byte, sizeU64), 1<<31)
	if _, err := Decode(TypeHashBatch, b); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("count 2^31: got %v, want ErrTooLarge", err)
	}
	if got := allocBytes(func() { Decode(TypeHashBatch, b) }); got > 4096 {
		t.Errorf("rejecting allocated %d bytes", got)
	}
	b = binary.BigEndian.AppendUint32(make([]byte, sizeU64), MaxBatch)
	if _, err := Decode(TypeHashBatch, b); !errors.Is(err, ErrTruncated) {
		t.Fatalf("count without sums: got %v, want ErrTruncated", err)
	}
}
