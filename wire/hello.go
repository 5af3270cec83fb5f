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
// rejected with an error wrapping ErrVersion.
func CheckHello(h Hello) error {
	if h.Version == ProtocolVersion {
		return nil
	}
	var hint string
	if h.Version > ProtocolVersion {
		hint = "upgrade this side"
	} else {
		hint = "upgrade the peer"
	}
	return &FormatError{
		Type: TypeHello,
		Err:  ErrVersion,
		Detail: fmt.Sprintf("peer speaks protocol version %d, this agent speaks version %d (%s)",
			h.Version, ProtocolVersion, hint),
	}
}
