package wire

import (
	"encoding/binary"
	"fmt"
)

// Hello layout: Magic, Version u16.
const (
	helloMagicOff   = 0
	helloVersionOff = helloMagicOff + len(Magic)
	helloLen        = helloVersionOff + sizeU16
)

// NewHello returns the Hello this agent sends: the current ProtocolVersion.
func NewHello() *Hello { return &Hello{Version: ProtocolVersion} }

func (*Hello) Type() Type { return TypeHello }

func (*Hello) Len() int { return helloLen }

func (h *Hello) Append(b []byte) []byte {
	b = append(b, Magic...)
	return binary.BigEndian.AppendUint16(b, h.Version)
}

// Validate reports whether h can be encoded. Any version can: CheckHello
// decides whether it is acceptable.
func (h *Hello) Validate() error { return nil }

func parseHello(b []byte) (*Hello, int, error) {
	if len(b) < helloLen {
		return nil, 0, errTruncated(TypeHello, helloLen, len(b))
	}
	if magic := b[helloMagicOff:helloVersionOff]; string(magic) != Magic {
		return nil, 0, formatErr(TypeHello, ErrBadMagic, "bad magic %q, want %q", magic, Magic)
	}
	return &Hello{Version: binary.BigEndian.Uint16(b[helloVersionOff:])}, helloLen, nil
}

// CheckHello reports whether the peer's Hello announces a protocol version
// this agent speaks. Versions are not negotiated: any other version is
// rejected with a *VersionError, which wraps ErrVersion.
func CheckHello(h Hello) error {
	if h.Version == ProtocolVersion {
		return nil
	}
	return &VersionError{Peer: h.Version, Own: ProtocolVersion}
}

// VersionError is CheckHello's refusal: both protocol versions.
type VersionError struct {
	Peer, Own uint16
}

func (e *VersionError) Error() string {
	return fmt.Sprintf("wire: Hello: peer speaks protocol version %d, this agent speaks version %d (upgrade %s)",
		e.Peer, e.Own, e.older("the peer", "this side"))
}

// Unwrap returns ErrVersion.
func (e *VersionError) Unwrap() error { return ErrVersion }

// ForPeer is the refusal as the peer should read it (in an Error message):
// from its side, "peer" is this agent.
func (e *VersionError) ForPeer() string {
	return fmt.Sprintf("the peer speaks protocol version %d and refuses version %d (upgrade %s)",
		e.Own, e.Peer, e.older("this side", "the peer"))
}

// older names the side with the lower version: peer's or own's name.
func (e *VersionError) older(peer, own string) string {
	if e.Peer < e.Own {
		return peer
	}
	return own
}
