package agent

import (
	"context"
	"errors"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pdiffagent/pdiffagent/engine"
	"github.com/pdiffagent/pdiffagent/wire"
)

func TestLimitDefaults(t *testing.T) {
	sid, cid, _ := ids()
	c, err := ServerConfig{Root: "/", Identity: sid, Allow: []string{cid.Fingerprint()}}.populate(false)
	if err != nil {
		t.Fatal(err)
	}
	if c.MaxSessions != DefaultMaxSessions || c.MaxSessionsPerClient != DefaultMaxSessionsPerClient ||
		c.MaxWorkers != DefaultMaxWorkers || c.HandshakeTimeout != DefaultHandshakeTimeout || c.IdleTimeout != DefaultIdleTimeout {
		t.Errorf("defaults: %+v", c)
	}
	c, _ = ServerConfig{Root: "/", Identity: sid, Allow: []string{cid.Fingerprint()}, MaxSessions: 3, MaxWorkers: 1 << 20}.populate(false)
	if c.MaxSessionsPerClient != 3 || c.MaxWorkers != wire.MaxWorkers {
		t.Errorf("bounds: %d sessions per client, %d workers", c.MaxSessionsPerClient, c.MaxWorkers)
	}
}

// TestSessionsPerClient: one client cannot take every session slot; the
// others keep theirs.
func TestSessionsPerClient(t *testing.T) {
	checkGoroutines(t)
	other, err := NewIdentity()
	if err != nil {
		t.Fatal(err)
	}
	for _, tr := range transports {
		t.Run(tr, func(t *testing.T) {
			ts := startServer(t, func(c *ServerConfig) {
				c.MaxSessionsPerClient = 1
				c.Allow = append(c.Allow, other.Fingerprint())
			})
			g := newGate(2)
			first := held(t, context.Background(), ts, tr, "held", randomBytes(81, 16*testBlock), g)

			src := filepath.Join(t.TempDir(), "src")
			writeFile(t, src, randomBytes(82, 3*testBlock))
			_, err := Push(context.Background(), ts.clientConfig(tr), src, ts.remote("second"), testParams(2, 0), engine.Options{})
			wantPeerError(t, err, wire.CodeBusy, "this client already runs 1 session(s)")
			_, err = Pull(context.Background(), ts.clientConfig(tr), ts.remote("held"), src, testParams(2, 0), engine.Options{})
			wantPeerError(t, err, wire.CodeBusy, "this client already runs 1 session(s)")

			cfg := ts.clientConfig(tr)
			cfg.Identity = other
			if _, err := Push(context.Background(), cfg, src, ts.remote("second"), testParams(2, 0), engine.Options{}); err != nil {
				t.Fatalf("another client was refused: %v", err)
			}
			close(g.open)
			if err := <-first; err != nil {
				t.Fatal(err)
			}
			if _, err := Push(context.Background(), ts.clientConfig(tr), src, ts.remote("second"), testParams(2, 0), engine.Options{}); err != nil {
				t.Fatalf("slot not given back: %v", err)
			}
			if !strings.Contains(ts.log.String(), `msg="session refused"`) {
				t.Error("the refusal was not logged")
			}
		})
	}
}

// TestHandshakeTimeout: an authenticated client that says nothing after its
// Hello, or whose worker streams never come, is dropped after
// HandshakeTimeout, and its slot is free again.
func TestHandshakeTimeout(t *testing.T) {
	checkGoroutines(t)
	const timeout = 500 * time.Millisecond
	ts := startServer(t, func(c *ServerConfig) { c.HandshakeTimeout = timeout })
	for _, tr := range transports {
		start := time.Now()
		ns := rawStream(t, ts, tr)
		if _, err := expect[*wire.OpenReply](ns, time.Now().Add(10*time.Second)); err == nil || isTimeout(err) {
			t.Errorf("%s: silent client: %v; want the server to hang up", tr, err)
		}
		// Not before the timeout; ten seconds after it are for a loaded
		// machine (the behaviour is that it ends, not how fast).
		if d := time.Since(start); d < timeout || d > timeout+10*time.Second {
			t.Errorf("%s: silent client dropped after %v, want about %v", tr, d, timeout)
		}

		o := rawOpen(t, wire.OpPush, "f", 8*testBlock, false)
		o.Workers = 3
		ns = rawSession(t, ts, tr, o) // no Attach follows
		_, err := expect[*wire.Verdict](ns, time.Now().Add(10*time.Second))
		wantPeerError(t, err, wire.CodeBadRequest, "only 1 of 3 worker streams attached within 500ms")
		if !waitFor(time.Minute, func() bool { return ts.activeSessions() == 0 }) {
			t.Errorf("%s: slot still taken", tr)
		}
	}
	if n := strings.Count(ts.log.String(), "dropped stream: no Open or Attach within the handshake timeout"); n != len(transports) {
		t.Errorf("%d silent streams logged, want %d:\n%s", n, len(transports), ts.log.String())
	}
}

// TestIdleTimeout: a QUIC client that vanishes mid-session (every packet
// lost) is dropped after IdleTimeout and its session ends. (TCP relies on
// keepalive and TCP_USER_TIMEOUT: see TestTCPSocketTimeouts.)
func TestIdleTimeout(t *testing.T) {
	checkGoroutines(t)
	const idle = 1500 * time.Millisecond
	ts := startServer(t, func(c *ServerConfig) { c.IdleTimeout = idle })
	relay := newUDPRelay(t, ts.Addr())
	g := newGate(2)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	src := filepath.Join(t.TempDir(), "src")
	writeFile(t, src, randomBytes(83, 16*testBlock))
	errc := make(chan error, 1)
	go func() {
		_, err := Push(ctx, ts.clientConfig(TransportQUIC), src, relay.addr()+"/f", testParams(2, 0), engine.Options{Weak: g.weak(ctx)})
		errc <- err
	}()
	<-g.blocked
	if !waitFor(time.Minute, func() bool { return ts.engineRunning("f") }) {
		t.Fatal("server runs no session")
	}
	relay.blackhole.Store(true)
	start := time.Now()
	if !waitFor(idle+5*time.Second, func() bool { return ts.activeSessions() == 0 }) {
		t.Fatal("the session of a vanished client still runs")
	}
	if d := time.Since(start); d < idle/2 {
		t.Errorf("dropped after %v, before the idle timeout %v", d, idle)
	}
	t.Logf("vanished client dropped after %v", time.Since(start))
	if !waitFor(time.Minute, func() bool { return strings.Contains(ts.log.String(), "session failed") }) {
		t.Errorf("server did not log the failed session")
	}
	close(g.open)
	cancel()
	if err := <-errc; err == nil {
		t.Error("push through a dead link succeeded")
	}
}

// udpRelay forwards datagrams between clients and a server until told to
// drop them all.
type udpRelay struct {
	t         *testing.T
	ln        *net.UDPConn
	server    *net.UDPAddr
	blackhole atomic.Bool
	mu        sync.Mutex
	up        map[string]*net.UDPConn // by client address
	wg        sync.WaitGroup
}

func newUDPRelay(t *testing.T, server string) *udpRelay {
	ln, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	sa, err := net.ResolveUDPAddr("udp", server)
	if err != nil {
		t.Fatal(err)
	}
	r := &udpRelay{t: t, ln: ln, server: sa, up: map[string]*net.UDPConn{}}
	r.wg.Add(1)
	go r.run()
	t.Cleanup(func() {
		ln.Close()
		r.mu.Lock()
		for _, c := range r.up {
			c.Close()
		}
		r.mu.Unlock()
		r.wg.Wait()
	})
	return r
}

func (r *udpRelay) addr() string { return r.ln.LocalAddr().String() }

func (r *udpRelay) run() {
	defer r.wg.Done()
	buf := make([]byte, 64<<10)
	for {
		n, from, err := r.ln.ReadFromUDP(buf)
		if err != nil {
			return
		}
		r.mu.Lock()
		up := r.up[from.String()]
		if up == nil {
			if up, err = net.DialUDP("udp", nil, r.server); err != nil {
				r.mu.Unlock()
				return
			}
			r.up[from.String()] = up
			r.wg.Add(1)
			go r.back(up, from)
		}
		r.mu.Unlock()
		if !r.blackhole.Load() {
			up.Write(buf[:n])
		}
	}
}

// back forwards the server's datagrams to client.
func (r *udpRelay) back(up *net.UDPConn, client *net.UDPAddr) {
	defer r.wg.Done()
	buf := make([]byte, 64<<10)
	for {
		n, err := up.Read(buf)
		if errors.Is(err, net.ErrClosed) {
			return
		}
		if err == nil && !r.blackhole.Load() {
			r.ln.WriteToUDP(buf[:n], client)
		}
	}
}
