package wire

import (
	"encoding/binary"
	"math"
	"slices"
)

// WeakBatch layout: First u64, Count u32, then Count u64 hashes.
const (
	weakBatchFirstOff  = 0
	weakBatchCountOff  = weakBatchFirstOff + sizeU64
	weakBatchHashesOff = weakBatchCountOff + countSize
	weakBatchFixedLen  = weakBatchHashesOff
	weakHashSize       = sizeU64
	weakBatchMaxLen    = weakBatchFixedLen + MaxBatch*weakHashSize
)

func (*WeakBatch) Type() Type { return TypeWeakBatch }

func (w *WeakBatch) Len() int { return weakBatchFixedLen + len(w.Hashes)*weakHashSize }

func (w *WeakBatch) Append(b []byte) []byte {
	b = slices.Grow(b, w.Len())
	b = binary.BigEndian.AppendUint64(b, w.First)
	b = binary.BigEndian.AppendUint32(b, uint32(len(w.Hashes)))
	for _, h := range w.Hashes {
		b = binary.BigEndian.AppendUint64(b, h)
	}
	return b
}

// Validate checks len(Hashes) <= MaxBatch and that the block numbers
// First..First+len(Hashes) do not overflow.
func (w *WeakBatch) Validate() error {
	return checkBatch(TypeWeakBatch, w.First, uint64(len(w.Hashes)))
}

// checkBatch validates the count and block range shared by WeakBatch and Verdict.
func checkBatch(t Type, first, count uint64) error {
	if count > MaxBatch {
		return errTooLarge(t, "count", count, MaxBatch)
	}
	if first > math.MaxUint64-count {
		return errInvalid(t, "blocks %d+%d overflow", first, count)
	}
	return nil
}

func parseWeakBatch(b []byte) (*WeakBatch, int, error) {
	if len(b) < weakBatchFixedLen {
		return nil, 0, errTruncated(TypeWeakBatch, weakBatchFixedLen, len(b))
	}
	first := binary.BigEndian.Uint64(b[weakBatchFirstOff:])
	count := binary.BigEndian.Uint32(b[weakBatchCountOff:])
	if err := checkBatch(TypeWeakBatch, first, uint64(count)); err != nil {
		return nil, 0, err
	}
	end := weakBatchFixedLen + int(count)*weakHashSize
	if len(b) < end {
		return nil, 0, errTruncated(TypeWeakBatch, end, len(b))
	}
	w := &WeakBatch{First: first}
	if count > 0 {
		w.Hashes = make([]uint64, count)
	}
	p := b[weakBatchHashesOff:end]
	for i := range w.Hashes {
		w.Hashes[i] = binary.BigEndian.Uint64(p)
		p = p[weakHashSize:]
	}
	return w, end, nil
}
