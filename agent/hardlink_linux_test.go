//go:build linux

package agent

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/pdiffagent/pdiffagent/engine"
	"github.com/pdiffagent/pdiffagent/wire"
)

// A hard link inside the root to a file outside it (what a local user can
// make with `ln`) must not let a client read or write the outside file.
func TestHardLinkOutOfRoot(t *testing.T) {
	checkGoroutines(t)
	ts := startServer(t, nil)
	outside := filepath.Join(t.TempDir(), "secret") // same filesystem as the root
	secret := randomBytes(1, 3*testBlock)
	if err := os.WriteFile(outside, secret, 0o600); err != nil {
		t.Fatal(err)
	}
	linked := filepath.Join(ts.root, "backup.img")
	if err := os.Link(outside, linked); err != nil {
		t.Fatal(err)
	}
	src := filepath.Join(t.TempDir(), "src")
	pushed := randomBytes(2, 3*testBlock+100)
	writeFile(t, src, pushed)
	ctx := context.Background()
	intact := func(what string) {
		t.Helper()
		if got := readFile(t, outside); !bytes.Equal(got, secret) {
			t.Fatalf("%s: the file outside the root changed", what)
		}
		if fi, err := os.Stat(outside); err != nil || fi.Mode().Perm() != 0o600 {
			t.Fatalf("%s: the file outside the root: %v, %v; want mode 0600", what, fi.Mode(), err)
		}
	}
	for _, tr := range transports {
		cfg := ts.clientConfig(tr)
		_, err := Pull(ctx, cfg, ts.remote("backup.img"), filepath.Join(t.TempDir(), "got"), testParams(2, 0), engine.Options{})
		wantPeerError(t, err, wire.CodeDenied, "hard links")
		_, err = Push(ctx, cfg, src, ts.remote("backup.img"), testParams(2, 0), engine.Options{})
		wantPeerError(t, err, wire.CodeDenied, "hard links")
		intact(tr + " push")
		dry := testParams(2, 0)
		dry.DryRun = true
		_, err = Push(ctx, cfg, src, ts.remote("backup.img"), dry, engine.Options{})
		wantPeerError(t, err, wire.CodeDenied, "hard links")
	}
	// A raw Open that grows the file and disconnects (the audit's attack)
	// must be refused before anything is touched.
	o := rawOpen(t, wire.OpPush, "backup.img", 1<<20, false)
	ns := rawStream(t, ts, "tcp")
	if err := ns.Send(o); err != nil {
		t.Fatal(err)
	}
	wantDisconnect(t, ns, wire.CodeDenied, "hard links")
	ns.release()
	intact("raw Open")

	// --atomic replaces the name; the outside file keeps its data.
	cfg := ts.clientConfig("tcp")
	cfg.Atomic = true
	if _, err := Push(ctx, cfg, src, ts.remote("backup.img"), testParams(2, 0), engine.Options{}); err != nil {
		t.Fatalf("atomic push over a hard link: %v", err)
	}
	intact("atomic push")
	if got := readFile(t, linked); !bytes.Equal(got, pushed) {
		t.Fatal("atomic push over a hard link: target differs")
	}
}

// With AllowHardlinks the server writes through the link, as asked.
func TestHardLinkAllowed(t *testing.T) {
	ts := startServer(t, func(c *ServerConfig) { c.AllowHardlinks = true })
	other := filepath.Join(ts.root, "other")
	writeFile(t, other, randomBytes(3, 2*testBlock))
	if err := os.Link(other, filepath.Join(ts.root, "linked")); err != nil {
		t.Fatal(err)
	}
	mustPush(t, ts, "tcp", "linked", randomBytes(4, 2*testBlock))
	if !bytes.Equal(readFile(t, other), readFile(t, filepath.Join(ts.root, "linked"))) {
		t.Fatal("the other name does not see the pushed data")
	}
}
