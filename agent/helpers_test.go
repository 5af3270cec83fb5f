package agent

import (
	"bytes"
	"context"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// Identities made once, in memory, for every test.
var (
	idOnce                    sync.Once
	serverID, clientID, strID *Identity
)

func ids() (server, client, stranger *Identity) {
	idOnce.Do(func() {
		var err error
		for _, p := range []**Identity{&serverID, &clientID, &strID} {
			if *p, err = NewIdentity(); err != nil {
				panic(err)
			}
		}
	})
	return serverID, clientID, strID
}

// syncBuffer is a log sink safe for concurrent writers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// waitFor polls cond for up to d.
func waitFor(d time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(d)
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(10 * time.Millisecond)
	}
}

type testServer struct {
	*Server
	root string
	log  *syncBuffer
	done chan error
}

// startServer runs a server on 127.0.0.1:0 whose root is a fresh temporary
// directory; mod may change its config. It is closed at the end of the test.
func startServer(t *testing.T, mod func(*ServerConfig)) *testServer {
	t.Helper()
	sid, cid, _ := ids()
	ts := &testServer{root: t.TempDir(), log: &syncBuffer{}, done: make(chan error, 1)}
	cfg := ServerConfig{
		Root:             ts.root,
		Allow:            []string{cid.Fingerprint()},
		Identity:         sid,
		Log:              slog.New(slog.NewTextHandler(ts.log, &slog.HandlerOptions{Level: slog.LevelDebug})),
		HandshakeTimeout: 5 * time.Second,
	}
	if mod != nil {
		mod(&cfg)
	}
	s, err := Listen(context.Background(), "127.0.0.1:0", cfg)
	if err != nil {
		t.Fatal(err)
	}
	ts.Server = s
	go func() { ts.done <- s.Serve(context.Background()) }()
	t.Cleanup(func() {
		s.Close()
		select {
		case err := <-ts.done:
			if err != nil {
				t.Errorf("Serve: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Errorf("Serve did not return after Close")
		}
		if t.Failed() {
			t.Logf("server log:\n%s", ts.log.String())
		}
	})
	return ts
}

// clientConfig pins ts with the test client identity.
func (ts *testServer) clientConfig(transport string) ClientConfig {
	_, cid, _ := ids()
	return ClientConfig{Identity: cid, Pin: ts.Fingerprint(), Transport: transport, Connections: 2, DialTimeout: 5 * time.Second}
}

// remote is "addr/path" on ts.
func (ts *testServer) remote(path string) string { return ts.Addr() + "/" + path }

// randomBytes returns n deterministic pseudo-random bytes.
func randomBytes(seed uint64, n int) []byte {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	b := make([]byte, n)
	for i := 0; i+8 <= n; i += 8 {
		v := r.Uint64()
		for k := 0; k < 8; k++ {
			b[i+k] = byte(v >> (8 * k))
		}
	}
	for i := n &^ 7; i < n; i++ {
		b[i] = byte(r.Uint32())
	}
	return b
}

func writeFile(t *testing.T, path string, b []byte) {
	t.Helper()
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// dirNames lists a directory, for "nothing was written" checks.
func dirNames(t *testing.T, dir string) string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return strings.Join(names, ",")
}

// checkGoroutines fails the test if, after it ran, more goroutines remain
// than before it (allowing them a few seconds to settle).
func checkGoroutines(t *testing.T) {
	t.Helper()
	before := runtime.NumGoroutine()
	t.Cleanup(func() {
		if !waitFor(10*time.Second, func() bool { return runtime.NumGoroutine() <= before }) {
			buf := make([]byte, 1<<20)
			n := runtime.Stack(buf, true)
			t.Errorf("goroutines: %d before, %d after\n%s", before, runtime.NumGoroutine(), buf[:n])
		}
	})
}

var _ = filepath.Join
