package agent

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/pdiffagent/pdiffagent/engine"
	"github.com/pdiffagent/pdiffagent/wire"
)

// A client's --owner is applied only by a server that opted in.
func TestOwnerNeedsAllowOwner(t *testing.T) {
	checkGoroutines(t)
	src := filepath.Join(t.TempDir(), "src")
	writeFile(t, src, randomBytes(8, 2*testBlock))
	p := testParams(1, 0)
	p.Owner = true
	ts := startServer(t, nil)
	_, err := Push(context.Background(), ts.clientConfig("tcp"), src, ts.remote("f"), p, engine.Options{})
	wantPeerError(t, err, wire.CodeDenied, "--allow-owner")
	if names := dirNames(t, ts.root); names != "" {
		t.Fatalf("refused push left %q", names)
	}
	if os.Geteuid() != 0 {
		return
	}
	ok := startServer(t, func(c *ServerConfig) { c.AllowOwner = true })
	if _, err := Push(context.Background(), ok.clientConfig("tcp"), src, ok.remote("f"), p, engine.Options{}); err != nil {
		t.Fatalf("push --owner to a server with AllowOwner: %v", err)
	}
}
