package wire

import "encoding/binary"

// Refused layout: Block u64. RollEnd layout: Blocks u64, Bytes u64.
const (
	refusedLen       = sizeU64
	rollEndBlocksOff = 0
	rollEndBytesOff  = rollEndBlocksOff + sizeU64
	rollEndLen       = rollEndBytesOff + sizeU64
)

func (*Refused) Type() Type { return TypeRefused }

func (*Refused) Len() int { return refusedLen }

func (r *Refused) Append(b []byte) []byte { return binary.BigEndian.AppendUint64(b, r.Block) }

// Validate accepts every Refused.
func (*Refused) Validate() error { return nil }

func parseRefused(b []byte) (*Refused, int, error) {
	if len(b) < refusedLen {
		return nil, 0, errTruncated(TypeRefused, refusedLen, len(b))
	}
	return &Refused{Block: binary.BigEndian.Uint64(b)}, refusedLen, nil
}

func (*RollEnd) Type() Type { return TypeRollEnd }

func (*RollEnd) Len() int { return rollEndLen }

func (r *RollEnd) Append(b []byte) []byte {
	b = binary.BigEndian.AppendUint64(b, r.Blocks)
	return binary.BigEndian.AppendUint64(b, r.Bytes)
}

// Validate accepts every RollEnd.
func (*RollEnd) Validate() error { return nil }

func parseRollEnd(b []byte) (*RollEnd, int, error) {
	if len(b) < rollEndLen {
		return nil, 0, errTruncated(TypeRollEnd, rollEndLen, len(b))
	}
	return &RollEnd{Blocks: binary.BigEndian.Uint64(b[rollEndBlocksOff:]), Bytes: binary.BigEndian.Uint64(b[rollEndBytesOff:])}, rollEndLen, nil
}
