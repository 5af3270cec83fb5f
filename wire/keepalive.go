package wire

import "encoding/binary"

// Keepalive layout: Done u64.
const (
	keepaliveDoneOff = 0
	keepaliveLen     = keepaliveDoneOff + sizeU64
)

func (*Keepalive) Type() Type { return TypeKeepalive }

func (*Keepalive) Len() int { return keepaliveLen }

func (k *Keepalive) Append(b []byte) []byte {
	return binary.BigEndian.AppendUint64(b, k.Done)
}

// Validate accepts every Keepalive.
func (k *Keepalive) Validate() error { return nil }

func parseKeepalive(b []byte) (*Keepalive, int, error) {
	if len(b) < keepaliveLen {
		return nil, 0, errTruncated(TypeKeepalive, keepaliveLen, len(b))
	}
	return &Keepalive{Done: binary.BigEndian.Uint64(b[keepaliveDoneOff:])}, keepaliveLen, nil
}
