package wire

import (
	"errors"
	"testing"
)

// TestHelloCaps: a session's capabilities are the AND of both Hellos; a
// peer that announces none gets none.
func TestHelloCaps(t *testing.T) {
	for _, c := range []struct {
		peer, want Caps
	}{
		{AgentCaps, AgentCaps},
		{0, 0},
		{^Caps(0), AgentCaps}, // bits this agent lacks are never used
		{CapKeepalive, CapKeepalive & AgentCaps},
		{CapRefine, CapRefine},
	} {
		h := &Hello{Version: ProtocolVersion, Caps: c.peer}
		m, err := Decode(TypeHello, h.Append(nil))
		if err != nil {
			t.Fatal(err)
		}
		if got := m.(*Hello).Common(); got != c.want {
			t.Errorf("peer %v: common %v, want %v", c.peer, got, c.want)
		}
	}
	if got := (CapKeepalive | 1<<10).String(); got != "keepalive,bit10" {
		t.Errorf("String: %q", got)
	}
	if got := Caps(0).String(); got != "none" {
		t.Errorf("String of none: %q", got)
	}
}

// TestHelloV1: a version-1 Hello (no Caps) decodes, so that its sender is
// told to upgrade; one with Caps cannot be written.
func TestHelloV1(t *testing.T) {
	m, err := Decode(TypeHello, []byte("PDFA\x00\x01"))
	if err != nil {
		t.Fatal(err)
	}
	h := m.(*Hello)
	if h.Version != 1 || h.Caps != 0 || h.Len() != helloV1Len {
		t.Fatalf("decoded %+v (len %d)", h, h.Len())
	}
	var ve *VersionError
	if err := CheckHello(*h); !errors.As(err, &ve) || ve.Peer != 1 {
		t.Errorf("CheckHello(v1) = %v", err)
	}
	if err := (&Hello{Version: 1, Caps: CapKeepalive}).Validate(); !errors.Is(err, ErrInvalid) {
		t.Errorf("v1 Hello with caps: %v", err)
	}
}
