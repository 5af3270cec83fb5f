package wire

import (
	"encoding/binary"
	"slices"
)

// HashBatch layout: First u64, Count u32, then per block Weak u64 and
// Strong [StrongSize].
const (
	hashBatchFirstOff = 0
	hashBatchCountOff = hashBatchFirstOff + sizeU64
	hashBatchSumsOff  = hashBatchCountOff + countSize
	hashBatchFixedLen = hashBatchSumsOff
	blockSumLen       = sizeU64 + StrongSize
	hashBatchMaxLen   = hashBatchFixedLen + MaxBatch*blockSumLen
)

func (*HashBatch) Type() Type { return TypeHashBatch }

func (h *HashBatch) Len() int { return hashBatchFixedLen + len(h.Sums)*blockSumLen }

func (h *HashBatch) Append(b []byte) []byte {
	b = slices.Grow(b, h.Len())
	b = binary.BigEndian.AppendUint64(b, h.First)
	b = binary.BigEndian.AppendUint32(b, uint32(len(h.Sums)))
	for i := range h.Sums {
		b = binary.BigEndian.AppendUint64(b, h.Sums[i].Weak)
		b = append(b, h.Sums[i].Strong[:]...)
	}
	return b
}

// Validate checks len(Sums) <= MaxBatch and that the block numbers
// First..First+len(Sums) do not overflow.
func (h *HashBatch) Validate() error {
	return checkBatch(TypeHashBatch, h.First, uint64(len(h.Sums)))
}

func parseHashBatch(b []byte) (*HashBatch, int, error) {
	if len(b) < hashBatchFixedLen {
		return nil, 0, errTruncated(TypeHashBatch, hashBatchFixedLen, len(b))
	}
	first := binary.BigEndian.Uint64(b[hashBatchFirstOff:])
	count := binary.BigEndian.Uint32(b[hashBatchCountOff:])
	if err := checkBatch(TypeHashBatch, first, uint64(count)); err != nil {
		return nil, 0, err
	}
	end := hashBatchFixedLen + int(count)*blockSumLen
	if len(b) < end {
		return nil, 0, errTruncated(TypeHashBatch, end, len(b))
	}
	h := &HashBatch{First: first}
	if count > 0 {
		h.Sums = make([]BlockSum, count)
	}
	p := b[hashBatchSumsOff:end]
	for i := range h.Sums {
		h.Sums[i].Weak = binary.BigEndian.Uint64(p)
		copy(h.Sums[i].Strong[:], p[sizeU64:blockSumLen])
		p = p[blockSumLen:]
	}
	return h, end, nil
}
