package wire

import "encoding/binary"

// FinalAck layout.
const (
	finalAckWrittenOff   = 0
	finalAckConfirmedOff = finalAckWrittenOff + sizeU64
	finalAckBytesOff     = finalAckConfirmedOff + sizeU64
	finalAckLen          = finalAckBytesOff + sizeU64
)

func (*FinalAck) Type() Type { return TypeFinalAck }

func (*FinalAck) Len() int { return finalAckLen }

func (a *FinalAck) Append(b []byte) []byte {
	b = binary.BigEndian.AppendUint64(b, a.Written)
	b = binary.BigEndian.AppendUint64(b, a.Confirmed)
	return binary.BigEndian.AppendUint64(b, a.Bytes)
}

// Validate accepts every FinalAck.
func (a *FinalAck) Validate() error { return nil }

func parseFinalAck(b []byte) (*FinalAck, int, error) {
	if len(b) < finalAckLen {
		return nil, 0, errTruncated(TypeFinalAck, finalAckLen, len(b))
	}
	return &FinalAck{
		Written:   binary.BigEndian.Uint64(b[finalAckWrittenOff:]),
		Confirmed: binary.BigEndian.Uint64(b[finalAckConfirmedOff:]),
		Bytes:     binary.BigEndian.Uint64(b[finalAckBytesOff:]),
	}, finalAckLen, nil
}
