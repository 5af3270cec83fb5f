package agent

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pdiffagent/pdiffagent/engine"
	"github.com/pdiffagent/pdiffagent/wire"
)

// rawStream opens an authenticated stream to ts without the session logic.
func rawStream(t *testing.T, ts *testServer, tr string) *netStream {
	t.Helper()
	cfg, err := ts.clientConfig(tr).populate(ts.Addr())
	if err != nil {
		t.Fatal(err)
	}
	c := &clientConn{cfg: cfg, hostport: ts.Addr(), tlsConf: clientTLSConfig(cfg.Identity, cfg.Pin, nil)}
	if tr == TransportQUIC {
		c.quic = make([]lazyConn, 1)
	}
	ns, err := c.openStream(context.Background(), 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.close(context.Background(), errors.New("test over")) })
	return ns
}

func TestProtocolErrors(t *testing.T) {
	checkGoroutines(t)
	ts := startServer(t, nil)
	for _, tr := range transports {
		t.Run(tr, func(t *testing.T) {
			// An Attach to a session that does not exist.
			ns := rawStream(t, ts, tr)
			if err := ns.Send(&wire.Attach{Worker: 1}); err != nil {
				t.Fatal(err)
			}
			_, err := expect[*wire.OpenReply](ns, time.Now().Add(5*time.Second))
			wantPeerError(t, err, wire.CodeBadRequest, "unknown session")

			// A message other than Open or Attach.
			ns = rawStream(t, ts, tr)
			if err := ns.Send(&wire.StripeEnd{}); err != nil {
				t.Fatal(err)
			}
			_, err = expect[*wire.OpenReply](ns, time.Now().Add(5*time.Second))
			wantPeerError(t, err, wire.CodeBadRequest, "expected Open or Attach")

			// Invalid parameters.
			ns = rawStream(t, ts, tr)
			if err := ns.Send(&wire.Open{Op: wire.OpPush, Path: "x", BlockSize: 12345, Workers: 1, Strong: 1}); err != nil {
				t.Fatal(err)
			}
			_, err = expect[*wire.OpenReply](ns, time.Now().Add(5*time.Second))
			wantPeerError(t, err, wire.CodeBadRequest, "block size")
		})
	}
}

// TestWrongVersion: a peer speaking another protocol version is told so.
func TestWrongVersion(t *testing.T) {
	checkGoroutines(t)
	ts := startServer(t, nil)
	ns := helloStream(t, ts, &wire.Hello{Version: wire.ProtocolVersion + 1})
	if _, err := expect[*wire.Hello](ns, time.Now().Add(5*time.Second)); err != nil {
		t.Fatal(err)
	}
	_, err := expect[*wire.OpenReply](ns, time.Now().Add(5*time.Second))
	want := fmt.Sprintf("the peer speaks protocol version %d and refuses version %d (upgrade the peer)",
		wire.ProtocolVersion, wire.ProtocolVersion+1)
	wantPeerError(t, err, wire.CodeBadRequest, want)
}

// TestCanceledBeforeStart: a push whose ctx is already done fails at once.
func TestCanceledBeforeStart(t *testing.T) {
	checkGoroutines(t)
	ts := startServer(t, nil)
	src := filepath.Join(t.TempDir(), "src")
	writeFile(t, src, randomBytes(51, 3*testBlock))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for _, tr := range transports {
		start := time.Now()
		_, err := Push(ctx, ts.clientConfig(tr), src, ts.remote("f"), testParams(2, 0), engine.Options{})
		if !errors.Is(err, context.Canceled) && (err == nil || !strings.Contains(err.Error(), "canceled")) {
			t.Errorf("%s: err = %v, want a cancellation", tr, err)
		}
		if d := time.Since(start); d > 10*time.Second { // at once; a loaded machine may take a while

			t.Errorf("%s: took %v", tr, d)
		}
	}
}
