package wire

import (
	"encoding/binary"
	"slices"
)

// RollSums layout: First u64, Count u32, a bitmap of ceil(Count/8) bytes
// (as Verdict's; set = offered), then per set bit Anchor u64, Weak u64 and
// N u32.
const (
	rollSumsFirstOff  = 0
	rollSumsCountOff  = rollSumsFirstOff + sizeU64
	rollSumsBitmapOff = rollSumsCountOff + countSize
	rollSumsFixedLen  = rollSumsBitmapOff
	rollSumsEntryLen  = 2*sizeU64 + sizeU32
	rollSumsMaxLen    = rollSumsFixedLen + MaxBatch/bitsPerByte + MaxBatch*rollSumsEntryLen
)

func (*RollSums) Type() Type { return TypeRollSums }

func (s *RollSums) Len() int {
	return rollSumsFixedLen + bitmapLen(s.Count) + len(s.Anchor)*rollSumsEntryLen
}

func (s *RollSums) Append(b []byte) []byte {
	b = slices.Grow(b, s.Len())
	b = binary.BigEndian.AppendUint64(b, s.First)
	b = binary.BigEndian.AppendUint32(b, s.Count)
	b = appendBitmap(b, s.Offer, s.Count)
	for i := range s.Anchor {
		b = binary.BigEndian.AppendUint64(b, s.Anchor[i])
		if i < len(s.Weak) && i < len(s.N) { // else invalid: Validate says so
			b = binary.BigEndian.AppendUint64(b, s.Weak[i])
			b = binary.BigEndian.AppendUint32(b, s.N[i])
		}
	}
	return b
}

// Validate checks Count <= MaxBatch, the range, len(Offer) == Count, and
// one Anchor and one Weak per offered block.
func (s *RollSums) Validate() error {
	if err := checkBatch(TypeRollSums, s.First, uint64(s.Count)); err != nil {
		return err
	}
	if uint64(len(s.Offer)) != uint64(s.Count) {
		return errInvalid(TypeRollSums, "%d offer flags for %d blocks", len(s.Offer), s.Count)
	}
	n := 0
	for _, o := range s.Offer {
		if o {
			n++
		}
	}
	if len(s.Anchor) != n || len(s.Weak) != n || len(s.N) != n {
		return errInvalid(TypeRollSums, "%d anchors, %d weak sums and %d lengths for %d offered blocks", len(s.Anchor), len(s.Weak), len(s.N), n)
	}
	for _, l := range s.N {
		if l == 0 || l > MaxBlockSize {
			return errInvalid(TypeRollSums, "block length %d outside [1, %d]", l, MaxBlockSize)
		}
	}
	return nil
}

func parseRollSums(b []byte) (*RollSums, int, error) {
	if len(b) < rollSumsFixedLen {
		return nil, 0, errTruncated(TypeRollSums, rollSumsFixedLen, len(b))
	}
	first := binary.BigEndian.Uint64(b[rollSumsFirstOff:])
	count := binary.BigEndian.Uint32(b[rollSumsCountOff:])
	if err := checkBatch(TypeRollSums, first, uint64(count)); err != nil {
		return nil, 0, err
	}
	entriesOff := rollSumsBitmapOff + bitmapLen(count)
	if len(b) < entriesOff {
		return nil, 0, errTruncated(TypeRollSums, entriesOff, len(b))
	}
	bitmap := b[rollSumsBitmapOff:entriesOff]
	offered, err := bitmapSet(TypeRollSums, bitmap, count)
	if err != nil {
		return nil, 0, err
	}
	end := entriesOff + offered*rollSumsEntryLen
	if len(b) < end {
		return nil, 0, errTruncated(TypeRollSums, end, len(b))
	}
	s := &RollSums{First: first, Count: count, Offer: bitmapFlags(bitmap, count)}
	if offered > 0 {
		s.Anchor, s.Weak, s.N = make([]uint64, offered), make([]uint64, offered), make([]uint32, offered)
	}
	p := b[entriesOff:end]
	for i := range s.Anchor {
		s.Anchor[i] = binary.BigEndian.Uint64(p)
		s.Weak[i] = binary.BigEndian.Uint64(p[sizeU64:])
		s.N[i] = binary.BigEndian.Uint32(p[2*sizeU64:])
		p = p[rollSumsEntryLen:]
	}
	if err := s.Validate(); err != nil {
		return nil, 0, err
	}
	return s, end, nil
}
