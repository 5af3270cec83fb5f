package wire

import (
	"encoding/binary"
	"slices"
)

// Literal layout: Block u64, Offset u32, length u32, the bytes.
const (
	literalBlockOff  = 0
	literalOffsetOff = literalBlockOff + sizeU64
	literalLenOff    = literalOffsetOff + sizeU32
	literalBytesOff  = literalLenOff + sizeU32
	literalMaxLen    = literalBytesOff + MaxBlockSize
)

func (*Literal) Type() Type { return TypeLiteral }

func (l *Literal) Len() int { return literalBytesOff + len(l.Bytes) }

func (l *Literal) Append(b []byte) []byte {
	b = slices.Grow(b, l.Len())
	b = binary.BigEndian.AppendUint64(b, l.Block)
	b = binary.BigEndian.AppendUint32(b, l.Offset)
	b = binary.BigEndian.AppendUint32(b, uint32(len(l.Bytes)))
	return append(b, l.Bytes...)
}

// Validate checks a piece of 1 to MaxBlockSize bytes within the largest block.
func (l *Literal) Validate() error {
	return checkPiece(TypeLiteral, l.Offset, uint64(len(l.Bytes)), 0)
}

// parseLiteral decodes a Literal; its Bytes are a copy (the payload is the
// Reader's buffer).
func parseLiteral(b []byte) (*Literal, int, error) {
	if len(b) < literalBytesOff {
		return nil, 0, errTruncated(TypeLiteral, literalBytesOff, len(b))
	}
	l := &Literal{
		Block:  binary.BigEndian.Uint64(b[literalBlockOff:]),
		Offset: binary.BigEndian.Uint32(b[literalOffsetOff:]),
	}
	n := binary.BigEndian.Uint32(b[literalLenOff:])
	if err := checkPiece(TypeLiteral, l.Offset, uint64(n), 0); err != nil {
		return nil, 0, err
	}
	end := literalBytesOff + int(n)
	if len(b) < end {
		return nil, 0, errTruncated(TypeLiteral, end, len(b))
	}
	l.Bytes = slices.Clone(b[literalBytesOff:end])
	return l, end, nil
}
