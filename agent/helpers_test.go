package agent

import (
	"context"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pdiffagent/pdiffagent/engine"
	"github.com/pdiffagent/pdiffagent/sysio"
	"github.com/pdiffagent/pdiffagent/sysio/sysiotest"
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

type testServer struct {
	*Server
	root    string
	log     *syncBuffer
	done    chan error
	serving bool
}

// startServer runs a server on 127.0.0.1:0 whose root is a fresh temporary
// directory; mod may change its config. It is closed at the end of the test.
func startServer(t *testing.T, mod func(*ServerConfig)) *testServer {
	t.Helper()
	ts := listenServer(t, mod)
	ts.serve()
	return ts
}

// listenServer is startServer without Serve, for a test that sets hooks on
// the server before it runs: it calls ts.serve.
func listenServer(t *testing.T, mod func(*ServerConfig)) *testServer {
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
	t.Cleanup(func() {
		s.Close()
		if !ts.serving {
			return
		}
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

// serve runs the server until the test ends.
func (ts *testServer) serve() {
	ts.serving = true
	go func() { ts.done <- ts.Serve(context.Background()) }()
}

// clientConfig pins ts with the test client identity.
func (ts *testServer) clientConfig(transport string) ClientConfig {
	_, cid, _ := ids()
	return ClientConfig{Identity: cid, Pin: ts.Fingerprint(), Transport: transport, Connections: 2, DialTimeout: 5 * time.Second}
}

// remote is "addr/path" on ts.
func (ts *testServer) remote(path string) string { return ts.Addr() + "/" + path }

// pushOrPull writes src as the source and old as the target of name (a
// file in local and one beneath the server's root; op "push" makes the
// local one the source, "pull" the remote one), runs op over transport
// tr and returns its outcome and the target's path.
func (ts *testServer) pushOrPull(t *testing.T, op, tr, local, name string, src, old []byte, p engine.Params) (Outcome, string) {
	t.Helper()
	lp, rp := filepath.Join(local, name), filepath.Join(ts.root, name)
	from, to := lp, rp
	if op == "pull" {
		from, to = rp, lp
	}
	writeFile(t, from, src)
	writeFile(t, to, old)
	var out Outcome
	var err error
	if op == "push" {
		out, err = Push(context.Background(), ts.clientConfig(tr), lp, ts.remote(name), p, engine.Options{})
	} else {
		out, err = Pull(context.Background(), ts.clientConfig(tr), ts.remote(name), lp, p, engine.Options{})
	}
	if err != nil {
		t.Fatal(err)
	}
	return out, to
}

// dirNames lists a directory, for "nothing was written" checks.
func dirNames(t *testing.T, dir string) string {
	return strings.Join(sysiotest.ListDir(t, dir, nil), ",")
}

// temps lists the replacement temporaries in dir.
func temps(t *testing.T, dir string) []string { return sysiotest.ListDir(t, dir, sysio.TempName) }

// syncBuffer is a log sink safe for concurrent writers.
type syncBuffer = sysiotest.Buffer

// The shared test helpers (sysio/sysiotest), by this package's names.
var (
	randomBytes     = sysiotest.RandomBytes
	writeFile       = sysiotest.WriteFile
	readFile        = sysiotest.ReadFile
	waitFor         = sysiotest.WaitUntil
	checkGoroutines = sysiotest.CheckGoroutines
)
