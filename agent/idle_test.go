package agent

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/pdiffagent/pdiffagent/wire"
	"github.com/quic-go/quic-go"
)

// Only protocol progress keeps a session alive: frames of unknown types
// (skipped, for the protocol to grow) do not reset the idle timer, so a
// client cannot hold a session, and its file's lock, with them.
func TestUnknownFramesDoNotKeepSessionAlive(t *testing.T) {
	checkGoroutines(t)
	ts := startServer(t, func(c *ServerConfig) { c.IdleTimeout = time.Second })
	for _, tr := range transports {
		o := rawOpen(t, wire.OpPush, "f-"+tr, 4*testBlock, true)
		ns := rawSession(t, ts, tr, o)
		stop := make(chan struct{})
		done := make(chan struct{})
		go func() { // the attacker's pacing: an unknown frame every 50 ms
			defer close(done)
			tick := time.NewTicker(50 * time.Millisecond)
			defer tick.Stop()
			for {
				select {
				case <-stop:
					return
				case <-tick.C:
					if _, err := ns.bs.Write([]byte{0, 0, 0, 1, 250, 0}); err != nil {
						return
					}
				}
			}
		}()
		ns.bs.SetReadDeadline(time.Now().Add(30 * time.Second))
		var err error
		for err == nil {
			_, err = ns.Recv()
		}
		close(stop)
		<-done
		if isTimeout(err) {
			t.Fatalf("%s: unknown frames kept the session alive for 30 s (idle timeout 1 s)", tr)
		}
		ns.release()
	}
	if !waitFor(10*time.Second, func() bool { return strings.Count(ts.log.String(), "session failed") == len(transports) }) {
		t.Fatalf("server log lacks the sessions' end:\n%s", ts.log.String())
	}
}

// An authenticated QUIC connection that opens no stream is closed after
// the handshake timeout, keepalives or not.
func TestQUICConnWithoutSession(t *testing.T) {
	checkGoroutines(t)
	ts := startServer(t, func(c *ServerConfig) { c.HandshakeTimeout = 500 * time.Millisecond })
	cfg, err := ts.clientConfig(TransportQUIC).populate(ts.Addr())
	if err != nil {
		t.Fatal(err)
	}
	qc, err := quic.DialAddr(context.Background(), ts.Addr(), clientTLSConfig(cfg.Identity, cfg.Pin, nil),
		quicConfig(5*time.Second, time.Minute, -1))
	if err != nil {
		t.Fatal(err)
	}
	defer qc.CloseWithError(0, "")
	select {
	case <-qc.Context().Done():
	case <-time.After(30 * time.Second):
		t.Fatal("the server kept an idle authenticated QUIC connection for 30 s (handshake timeout 0.5 s)")
	}
	// A connection that carries a session stays up meanwhile: a push works.
	mustPush(t, ts, TransportQUIC, "after", randomBytes(10, 2*testBlock))
}
