package agent

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pdiffagent/pdiffagent/engine"
	"github.com/pdiffagent/pdiffagent/wire"
)

// gate is a weak hash that lets pass calls through, then blocks until it
// is opened or ctx ends: it holds a session in the middle of its transfer.
// With after set, it blocks only once after reports true as well: on a
// receiver the hasher and the writer (which hashes what it writes, for the
// digest) both call it, and which gets past pass calls first is up to the
// scheduler.
type gate struct {
	pass    int64
	after   func() bool
	calls   atomic.Int64
	open    chan struct{}
	blocked chan struct{}
	once    sync.Once
}

func newGate(pass int64) *gate {
	return &gate{pass: pass, open: make(chan struct{}), blocked: make(chan struct{})}
}

func (g *gate) weak(ctx context.Context) engine.WeakFunc {
	return func(b []byte) uint64 {
		if g.calls.Add(1) > g.pass && (g.after == nil || g.after()) {
			g.once.Do(func() { close(g.blocked) })
			select {
			case <-g.open:
			case <-ctx.Done():
			}
		}
		return engine.WeakXXH3(b)
	}
}

// engineRunning reports whether a session for path has all its streams (and
// so runs, or has run, its engine).
func (s *Server) engineRunning(path string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, ss := range s.sessions {
		if ss.path != path {
			continue
		}
		ss.mu.Lock()
		running := !ss.open
		ss.mu.Unlock()
		if running {
			return true
		}
	}
	return false
}

func (s *Server) activeSessions() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.running
}

// held starts a push of data to ts's path that stops at g, and waits until
// the server runs it. The returned channel yields the push's error.
func held(t *testing.T, ctx context.Context, ts *testServer, tr, path string, data []byte, g *gate) <-chan error {
	t.Helper()
	src := filepath.Join(t.TempDir(), "src")
	writeFile(t, src, data)
	errc := make(chan error, 1)
	go func() {
		_, err := Push(ctx, ts.clientConfig(tr), src, ts.remote(path), testParams(2, 0), engine.Options{Weak: g.weak(ctx)})
		errc <- err
	}()
	select {
	case <-g.blocked:
	case err := <-errc:
		t.Fatalf("push ended early: %v", err)
	case <-time.After(time.Minute):
		t.Fatal("push did not start")
	}
	if !waitFor(time.Minute, func() bool { return ts.engineRunning(path) }) {
		t.Fatal("server runs no session")
	}
	return errc
}

func TestBusy(t *testing.T) {
	checkGoroutines(t)
	for _, tr := range transports {
		t.Run(tr, func(t *testing.T) {
			ts := startServer(t, func(c *ServerConfig) { c.MaxSessions = 2 })
			data := randomBytes(21, 16*testBlock)
			g := newGate(2)
			first := held(t, context.Background(), ts, tr, "target", data, g)

			src := filepath.Join(t.TempDir(), "other")
			writeFile(t, src, randomBytes(22, 3*testBlock))
			_, err := Push(context.Background(), ts.clientConfig(tr), src, ts.remote("target"), testParams(2, 0), engine.Options{})
			wantPeerError(t, err, wire.CodeBusy, "target is busy with another transfer")
			_, err = Pull(context.Background(), ts.clientConfig(tr), ts.remote("target"), src, testParams(2, 0), engine.Options{})
			wantPeerError(t, err, wire.CodeBusy, "target is busy with another transfer")

			// A second session elsewhere is fine; a third exceeds MaxSessions.
			g2 := newGate(0)
			second := held(t, context.Background(), ts, tr, "elsewhere", data, g2)
			_, err = Push(context.Background(), ts.clientConfig(tr), src, ts.remote("third"), testParams(2, 0), engine.Options{})
			wantPeerError(t, err, wire.CodeBusy, "server busy")

			close(g.open)
			close(g2.open)
			for _, errc := range []<-chan error{first, second} {
				if err := <-errc; err != nil {
					t.Fatal(err)
				}
			}
			if got := readFile(t, filepath.Join(ts.root, "target")); !bytes.Equal(got, data) {
				t.Error("target differs after the held push")
			}
		})
	}
}

func TestCancel(t *testing.T) {
	checkGoroutines(t)
	for _, tr := range transports {
		for _, op := range []string{"push", "pull"} {
			t.Run(tr+"/"+op, func(t *testing.T) {
				ts := startServer(t, nil)
				data := randomBytes(31, 64*testBlock)
				ctx, cancel := context.WithCancel(context.Background())
				defer cancel()
				g := newGate(3)
				var errc <-chan error
				if op == "push" {
					errc = held(t, ctx, ts, tr, "f", data, g)
				} else {
					writeFile(t, filepath.Join(ts.root, "f"), data)
					local := filepath.Join(t.TempDir(), "f")
					writeFile(t, local, randomBytes(32, len(data)))
					ch := make(chan error, 1)
					errc = ch
					go func() {
						_, err := Pull(ctx, ts.clientConfig(tr), ts.remote("f"), local, testParams(2, 0), engine.Options{Weak: g.weak(ctx)})
						ch <- err
					}()
					<-g.blocked
					if !waitFor(time.Minute, func() bool { return ts.engineRunning("f") }) {
						t.Fatal("server runs no session")
					}
				}
				cancel()
				start := time.Now()
				select {
				case err := <-errc:
					if !errors.Is(err, context.Canceled) {
						t.Errorf("client: err = %v, want context.Canceled", err)
					}
				case <-time.After(time.Minute):
					t.Fatal("client did not return after cancel")
				}
				if !waitFor(time.Minute, func() bool { return ts.activeSessions() == 0 }) {
					t.Fatal("server session still running after the client cancelled")
				}
				t.Logf("both sides ended %v after cancel", time.Since(start))
				if !waitFor(time.Minute, func() bool { return strings.Contains(ts.log.String(), "session failed") }) {
					t.Errorf("server did not log the failed session:\n%s", ts.log.String())
				}

				// The server still serves.
				src := filepath.Join(t.TempDir(), "next")
				next := randomBytes(33, 5*testBlock)
				writeFile(t, src, next)
				if _, err := Push(context.Background(), ts.clientConfig(tr), src, ts.remote("f"), testParams(2, 0), engine.Options{}); err != nil {
					t.Fatal(err)
				}
				if got := readFile(t, filepath.Join(ts.root, "f")); !bytes.Equal(got, next) {
					t.Error("push after cancel: target differs")
				}
			})
		}
	}
}

// TestServerClose: closing the server mid-session ends the client's push
// promptly, with an error.
func TestServerClose(t *testing.T) {
	checkGoroutines(t)
	for _, tr := range transports {
		t.Run(tr, func(t *testing.T) {
			ts := startServer(t, nil)
			g := newGate(2)
			errc := held(t, context.Background(), ts, tr, "f", randomBytes(41, 32*testBlock), g)
			closed := make(chan struct{})
			go func() { ts.Close(); close(closed) }()
			// The test's hook would hold the client's engine forever: let it
			// go once the server has ended the session.
			if !waitFor(time.Minute, func() bool { return ts.activeSessions() == 0 }) {
				t.Fatal("server did not end the session")
			}
			close(g.open)
			defer func() { <-closed }()
			select {
			case err := <-errc:
				var pe *engine.PeerError
				if !errors.As(err, &pe) || pe.Code != wire.CodeCanceled || !strings.Contains(pe.Message, "server shutting down") {
					t.Errorf("err = %v; want the server's shutdown report", err)
				}
			case <-time.After(time.Minute):
				t.Fatal("client did not notice the server's shutdown")
			}
		})
	}
}
