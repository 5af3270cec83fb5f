package wire

import "encoding/binary"

// CopyFrom layout.
const (
	copyFromBlockOff  = 0
	copyFromOffsetOff = copyFromBlockOff + sizeU64
	copyFromLenOff    = copyFromOffsetOff + sizeU32
	copyFromSrcOff    = copyFromLenOff + sizeU32
	copyFromStrongOff = copyFromSrcOff + sizeU64
	copyFromLen       = copyFromStrongOff + StrongSize
)

func (*CopyFrom) Type() Type { return TypeCopyFrom }

func (*CopyFrom) Len() int { return copyFromLen }

func (c *CopyFrom) Append(b []byte) []byte {
	b = binary.BigEndian.AppendUint64(b, c.Block)
	b = binary.BigEndian.AppendUint32(b, c.Offset)
	b = binary.BigEndian.AppendUint32(b, c.N)
	b = binary.BigEndian.AppendUint64(b, c.Src)
	return append(b, c.Strong[:]...)
}

// Validate checks a piece within the largest block, and a source range
// that does not overflow.
func (c *CopyFrom) Validate() error {
	return checkPiece(TypeCopyFrom, c.Offset, uint64(c.N), c.Src)
}

// checkPiece checks a piece of n bytes at off within a block (and, for a
// copy, its source range at src).
func checkPiece(t Type, off uint32, n, src uint64) error {
	switch {
	case n == 0 || n > MaxBlockSize:
		return errInvalid(t, "length %d outside [1, %d]", n, MaxBlockSize)
	case uint64(off)+n > MaxBlockSize:
		return errInvalid(t, "piece %d+%d past the largest block", off, n)
	case src > 1<<62:
		return errInvalid(t, "source offset %d too large", src)
	}
	return nil
}

func parseCopyFrom(b []byte) (*CopyFrom, int, error) {
	if len(b) < copyFromLen {
		return nil, 0, errTruncated(TypeCopyFrom, copyFromLen, len(b))
	}
	c := &CopyFrom{
		Block:  binary.BigEndian.Uint64(b[copyFromBlockOff:]),
		Offset: binary.BigEndian.Uint32(b[copyFromOffsetOff:]),
		N:      binary.BigEndian.Uint32(b[copyFromLenOff:]),
		Src:    binary.BigEndian.Uint64(b[copyFromSrcOff:]),
	}
	copy(c.Strong[:], b[copyFromStrongOff:copyFromLen])
	if err := c.Validate(); err != nil {
		return nil, 0, err
	}
	return c, copyFromLen, nil
}
