package wire

import "encoding/binary"

// FinalAck layout.
const (
	finalAckWrittenOff   = 0
	finalAckConfirmedOff = finalAckWrittenOff + sizeU64
	finalAckBytesOff     = finalAckConfirmedOff + sizeU64
	finalAckDigestOff    = finalAckBytesOff + sizeU64
	finalAckLen          = finalAckDigestOff + DigestSize
)

func (*FinalAck) Type() Type { return TypeFinalAck }

func (*FinalAck) Len() int { return finalAckLen }

func (a *FinalAck) Append(b []byte) []byte {
	b = binary.BigEndian.AppendUint64(b, a.Written)
	b = binary.BigEndian.AppendUint64(b, a.Confirmed)
	b = binary.BigEndian.AppendUint64(b, a.Bytes)
	return append(b, a.Digest[:]...)
}

// Validate accepts every FinalAck.
func (a *FinalAck) Validate() error { return nil }

func parseFinalAck(b []byte) (*FinalAck, int, error) {
	if len(b) < finalAckLen {
		return nil, 0, errTruncated(TypeFinalAck, finalAckLen, len(b))
	}
	a := &FinalAck{
		Written:   binary.BigEndian.Uint64(b[finalAckWrittenOff:]),
		Confirmed: binary.BigEndian.Uint64(b[finalAckConfirmedOff:]),
		Bytes:     binary.BigEndian.Uint64(b[finalAckBytesOff:]),
	}
	copy(a.Digest[:], b[finalAckDigestOff:finalAckLen])
	return a, finalAckLen, nil
}
