package wire

import "encoding/binary"

// StripeEnd layout.
const (
	stripeEndSentOff      = 0
	stripeEndConfirmedOff = stripeEndSentOff + sizeU64
	stripeEndLen          = stripeEndConfirmedOff + sizeU64
)

func (*StripeEnd) Type() Type { return TypeStripeEnd }

func (*StripeEnd) Len() int { return stripeEndLen }

func (s *StripeEnd) Append(b []byte) []byte {
	b = binary.BigEndian.AppendUint64(b, s.Sent)
	return binary.BigEndian.AppendUint64(b, s.Confirmed)
}

// Validate accepts every StripeEnd.
func (s *StripeEnd) Validate() error { return nil }

func parseStripeEnd(b []byte) (*StripeEnd, int, error) {
	if len(b) < stripeEndLen {
		return nil, 0, errTruncated(TypeStripeEnd, stripeEndLen, len(b))
	}
	return &StripeEnd{
		Sent:      binary.BigEndian.Uint64(b[stripeEndSentOff:]),
		Confirmed: binary.BigEndian.Uint64(b[stripeEndConfirmedOff:]),
	}, stripeEndLen, nil
}
