package agent

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pdiffagent/pdiffagent/wire"
)

// helloStream opens a TCP stream to ts that announces hello instead of
// this agent's own Hello; the server's Hello is the stream's first message.
func helloStream(t *testing.T, ts *testServer, hello *wire.Hello) *netStream {
	t.Helper()
	cfg, err := ts.clientConfig(TransportTCP).populate(ts.Addr())
	if err != nil {
		t.Fatal(err)
	}
	bs, err := dialTCP(context.Background(), ts.Addr(), clientTLSConfig(cfg.Identity, cfg.Pin, nil), 5*time.Second, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	ns := newNetStream(bs, 0, "test")
	t.Cleanup(ns.release)
	if err := ns.Send(hello); err != nil {
		t.Fatal(err)
	}
	return ns
}

// TestCapsNegotiated: a session runs with the capabilities both Hellos
// announce. A client that announces none gets none on the server's side,
// whatever the server has; the client's side has what both have. A
// Keepalive is skipped wherever it comes.
func TestCapsNegotiated(t *testing.T) {
	checkGoroutines(t)
	ts := startServer(t, nil)
	writeFile(t, filepath.Join(ts.root, "f"), randomBytes(53, testBlock))
	for i, announce := range []wire.Caps{wire.AgentCaps, 0} {
		ns := helloStream(t, ts, &wire.Hello{Version: wire.ProtocolVersion, Caps: announce})
		ns.helloPending = true // the first Recv checks the server's Hello and keeps the common caps
		if err := ns.Send(&wire.Keepalive{Done: 1}); err != nil {
			t.Fatal(err)
		}
		if err := ns.Send(&wire.Open{Op: wire.OpPull, SessionID: [16]byte{byte(i + 1)}, Path: "f", BlockSize: testBlock, Workers: 1, Strong: 1}); err != nil {
			t.Fatal(err)
		}
		if _, err := expect[*wire.OpenReply](ns, time.Now().Add(5*time.Second)); err != nil {
			t.Fatal(err)
		}
		if ns.caps != wire.AgentCaps {
			t.Errorf("client's side: caps %v, want %v", ns.caps, wire.AgentCaps)
		}
		want := "caps=" + (announce & wire.AgentCaps).String()
		if !waitFor(5*time.Second, func() bool { return strings.Count(ts.log.String(), "session started") == i+1 }) {
			t.Fatalf("session %d did not start:\n%s", i, ts.log.String())
		}
		if lines := strings.Split(strings.TrimSpace(ts.log.String()), "\n"); !strings.Contains(lastWith(lines, "session started"), want) {
			t.Errorf("announcing %v, server's session: %s; want %s", announce, lastWith(lines, "session started"), want)
		}
	}
}

// lastWith is the last of lines that contains s.
func lastWith(lines []string, s string) string {
	for i := len(lines) - 1; i >= 0; i-- {
		if strings.Contains(lines[i], s) {
			return lines[i]
		}
	}
	return ""
}
