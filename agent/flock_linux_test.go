//go:build linux

package agent

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/pdiffagent/pdiffagent/engine"
	"github.com/pdiffagent/pdiffagent/sysio"
	"github.com/pdiffagent/pdiffagent/wire"
)

// A file another process holds flock on is busy for the server: a push
// does not write under a cooperating writer, nor a pull read under it.
func TestServerHonoursFlock(t *testing.T) {
	checkGoroutines(t)
	ts := startServer(t, nil)
	target := filepath.Join(ts.root, "f")
	old := randomBytes(12, 2*testBlock)
	writeFile(t, target, old)
	held, err := os.OpenFile(target, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	if err := sysio.Lock(held, true, false); err != nil {
		t.Skipf("flock: %v", err)
	}
	src := filepath.Join(t.TempDir(), "src")
	writeFile(t, src, randomBytes(13, 2*testBlock))
	ctx := context.Background()
	_, err = Push(ctx, ts.clientConfig("tcp"), src, ts.remote("f"), testParams(1, 0), engine.Options{})
	wantPeerError(t, err, wire.CodeBusy, "locked by another process")
	if got := readFile(t, target); string(got) != string(old) {
		t.Fatal("the push wrote under another process's lock")
	}
	_, err = Pull(ctx, ts.clientConfig("tcp"), ts.remote("f"), filepath.Join(t.TempDir(), "got"), testParams(1, 0), engine.Options{})
	wantPeerError(t, err, wire.CodeBusy, "locked by another process")
	if err := sysio.Unlock(held); err != nil {
		t.Fatal(err)
	}
	mustPush(t, ts, "tcp", "f", randomBytes(14, 2*testBlock))
}
