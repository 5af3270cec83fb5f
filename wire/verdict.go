package wire

import (
	"encoding/binary"
	"math/bits"
	"slices"
)

// Verdict layout: First u64, Count u32, a bitmap of ceil(Count/8) bytes, then
// StrongSize bytes per block whose bit is clear. Bit i of the bitmap is
// bit (i % 8) of byte i/8, least significant first; set means Need[i].
// Bits past Count are zero.
const (
	verdictFirstOff  = 0
	verdictCountOff  = verdictFirstOff + sizeU64
	verdictBitmapOff = verdictCountOff + countSize
	verdictFixedLen  = verdictBitmapOff
	verdictMaxLen    = verdictFixedLen + MaxBatch/bitsPerByte + MaxBatch*StrongSize

	bitsPerByte = 8
)

// bitmapLen is the size of a bitmap of n bits.
func bitmapLen(n uint32) int { return int((uint64(n) + bitsPerByte - 1) / bitsPerByte) }

// appendBitmap appends the bitmap of the first count flags (bit i is bit
// i%8 of byte i/8, least significant first; missing flags are clear).
func appendBitmap(b []byte, flags []bool, count uint32) []byte {
	start := len(b)
	b = append(b, make([]byte, bitmapLen(count))...)
	bitmap := b[start:]
	for i, f := range flags {
		if uint64(i) >= uint64(count) {
			break
		}
		if f {
			bitmap[i/bitsPerByte] |= 1 << (i % bitsPerByte)
		}
	}
	return b
}

// bitmapSet checks that no bit past count is set in a message of type t
// and returns how many are.
func bitmapSet(t Type, bitmap []byte, count uint32) (int, error) {
	if tail := count % bitsPerByte; tail != 0 {
		if extra := bitmap[len(bitmap)-1] >> tail; extra != 0 {
			return 0, errInvalid(t, "bitmap bits set past count %d", count)
		}
	}
	set := 0
	for _, c := range bitmap {
		set += bits.OnesCount8(c)
	}
	return set, nil
}

// bitmapFlags returns the count flags of bitmap (nil for none).
func bitmapFlags(bitmap []byte, count uint32) []bool {
	if count == 0 {
		return nil
	}
	f := make([]bool, count)
	for i := range f {
		f[i] = bitmap[i/bitsPerByte]&(1<<(i%bitsPerByte)) != 0
	}
	return f
}

func (*Verdict) Type() Type { return TypeVerdict }

func (v *Verdict) Len() int {
	return verdictFixedLen + bitmapLen(v.Count) + len(v.Strong)*StrongSize
}

// Append encodes v. The bitmap covers Count blocks (entries of Need beyond
// Count are ignored, missing ones are clear) and every entry of Strong is
// written: Validate checks that these agree.
func (v *Verdict) Append(b []byte) []byte {
	b = slices.Grow(b, v.Len())
	b = binary.BigEndian.AppendUint64(b, v.First)
	b = binary.BigEndian.AppendUint32(b, v.Count)
	b = appendBitmap(b, v.Need, v.Count)
	for i := range v.Strong {
		b = append(b, v.Strong[i][:]...)
	}
	return b
}

// Validate checks Count <= MaxBatch, that the block range does not overflow,
// len(Need) == Count, and one Strong per block that is not needed.
func (v *Verdict) Validate() error {
	if err := checkBatch(TypeVerdict, v.First, uint64(v.Count)); err != nil {
		return err
	}
	if uint64(len(v.Need)) != uint64(v.Count) {
		return errInvalid(TypeVerdict, "%d need flags for %d blocks", len(v.Need), v.Count)
	}
	have := 0
	for _, need := range v.Need {
		if !need {
			have++
		}
	}
	if len(v.Strong) != have {
		return errInvalid(TypeVerdict, "%d strong hashes for %d matched blocks", len(v.Strong), have)
	}
	return nil
}

func parseVerdict(b []byte) (*Verdict, int, error) {
	if len(b) < verdictFixedLen {
		return nil, 0, errTruncated(TypeVerdict, verdictFixedLen, len(b))
	}
	first := binary.BigEndian.Uint64(b[verdictFirstOff:])
	count := binary.BigEndian.Uint32(b[verdictCountOff:])
	if err := checkBatch(TypeVerdict, first, uint64(count)); err != nil {
		return nil, 0, err
	}
	strongOff := verdictBitmapOff + bitmapLen(count)
	if len(b) < strongOff {
		return nil, 0, errTruncated(TypeVerdict, strongOff, len(b))
	}
	needed, err := bitmapSet(TypeVerdict, b[verdictBitmapOff:strongOff], count)
	if err != nil {
		return nil, 0, err
	}
	matched := int(count) - needed
	end := strongOff + matched*StrongSize
	if len(b) < end {
		return nil, 0, errTruncated(TypeVerdict, end, len(b))
	}
	v := &Verdict{First: first, Count: count, Need: bitmapFlags(b[verdictBitmapOff:strongOff], count)}
	if matched > 0 {
		v.Strong = make([][StrongSize]byte, matched)
	}
	p := b[strongOff:end]
	for i := range v.Strong {
		copy(v.Strong[i][:], p)
		p = p[StrongSize:]
	}
	return v, end, nil
}
