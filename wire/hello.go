package wire

import (
	"encoding/binary"
	"fmt"
	"strings"
)

// Hello layout: Magic, Version u16, then from version 2 on Caps u64. A
// version-1 Hello ends after Version; it is decoded (with no capabilities)
// so that CheckHello can tell its sender to upgrade.
const (
	helloMagicOff   = 0
	helloVersionOff = helloMagicOff + len(Magic)
	helloCapsOff    = helloVersionOff + sizeU16
	helloV1Len      = helloCapsOff
	helloLen        = helloCapsOff + sizeU64
)

// Caps is a set of capabilities, one bit each, announced in Hello. A
// session uses a capability only when both Hellos announce it
// (Hello.Common); a peer without it gets the behaviour from before it.
type Caps uint64

// Capabilities.
const (
	// CapKeepalive: the peer skips Keepalive frames, which may then be sent
	// during a phase silent on the wire (an atomic copy, a search).
	CapKeepalive Caps = 1 << 0
	// CapRefine: the peer takes part in sub-block refinement (a receiver
	// follows every Verdict with a Refine; a sender answers refined blocks
	// with SubData).
	CapRefine Caps = 1 << 1
	// CapRecordDigest: the peer reads OpenReply's RecordDigest (a client)
	// and may end a session at once, equal by block-hash records.
	CapRecordDigest Caps = 1 << 4
	// CapXXH3: the peer's tier-1 hash is XXH3-64 (of blocks, sub-blocks
	// and the search's candidates) instead of xxhash64: the same 8 bytes
	// on the wire, several times cheaper to compute.
	CapXXH3 Caps = 1 << 7
)

// AgentCaps are the capabilities this agent has.
const AgentCaps = CapKeepalive | CapRefine | CapRolling | CapTree | CapRecordDigest | CapTreeDevices | CapTreeRecords | CapXXH3 | CapUnasked | CapSubWeak

// capNames name the bits, for String.
var capNames = []string{"keepalive", "refine", "rolling", "tree", "record-digest", "tree-devices", "tree-records", "xxh3", "unasked", "sub-weak"}

// String lists the set's names, e.g. "keepalive", or "none"; an unknown bit
// is written as bitN.
func (c Caps) String() string {
	var names []string
	for i := range 64 {
		if c&(1<<i) == 0 {
			continue
		}
		if i < len(capNames) {
			names = append(names, capNames[i])
		} else {
			names = append(names, fmt.Sprintf("bit%d", i))
		}
	}
	if names == nil {
		return "none"
	}
	return strings.Join(names, ",")
}

// Has reports whether every capability of want is in c.
func (c Caps) Has(want Caps) bool { return c&want == want }

// NewHello returns the Hello this agent sends: the current ProtocolVersion
// and AgentCaps.
func NewHello() *Hello { return &Hello{Version: ProtocolVersion, Caps: AgentCaps} }

// Common is the capability set of a session between this agent and the
// sender of peer: what both announce.
func (peer *Hello) Common() Caps { return AgentCaps & peer.Caps }

func (*Hello) Type() Type { return TypeHello }

func (h *Hello) Len() int {
	if h.Version < 2 {
		return helloV1Len
	}
	return helloLen
}

func (h *Hello) Append(b []byte) []byte {
	b = append(b, Magic...)
	b = binary.BigEndian.AppendUint16(b, h.Version)
	if h.Version < 2 {
		return b
	}
	return binary.BigEndian.AppendUint64(b, uint64(h.Caps))
}

// Validate reports whether h can be encoded: any version can (CheckHello
// decides whether it is acceptable), but a version-1 Hello has no Caps.
func (h *Hello) Validate() error {
	if h.Version < 2 && h.Caps != 0 {
		return errInvalid(TypeHello, "version %d carries no capabilities", h.Version)
	}
	return nil
}

func parseHello(b []byte) (*Hello, int, error) {
	if len(b) < helloV1Len {
		return nil, 0, errTruncated(TypeHello, helloV1Len, len(b))
	}
	if magic := b[helloMagicOff:helloVersionOff]; string(magic) != Magic {
		return nil, 0, formatErr(TypeHello, ErrBadMagic, "bad magic %q, want %q", magic, Magic)
	}
	h := &Hello{Version: binary.BigEndian.Uint16(b[helloVersionOff:])}
	if h.Version < 2 {
		return h, helloV1Len, nil
	}
	if len(b) < helloLen {
		return nil, 0, errTruncated(TypeHello, helloLen, len(b))
	}
	h.Caps = Caps(binary.BigEndian.Uint64(b[helloCapsOff:]))
	return h, helloLen, nil
}

// CheckHello reports whether the peer's Hello announces a protocol version
// this agent speaks. Versions are not negotiated (capabilities are): any
// other version is rejected with a *VersionError, which wraps ErrVersion.
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
