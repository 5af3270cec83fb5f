package agent

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"testing"

	"github.com/pdiffagent/pdiffagent/engine"
	"github.com/pdiffagent/pdiffagent/wire"
)

// TestSetAllow: a client removed from the allow list of a running server
// has its running session ended with a refusal and cannot connect again; a
// client added can push at once.
func TestSetAllow(t *testing.T) {
	checkGoroutines(t)
	_, cid, stranger := ids()
	for _, tr := range transports {
		t.Run(tr, func(t *testing.T) {
			ts := startServer(t, nil)
			g := newGate(2)
			errc := held(t, context.Background(), ts, tr, "target", randomBytes(41, 16*testBlock), g)

			added, removed, err := ts.SetAllow([]string{stranger.Fingerprint()}, nil)
			if err != nil {
				t.Fatal(err)
			}
			if len(added) != 1 || added[0] != stranger.Fingerprint() || len(removed) != 1 || removed[0] != cid.Fingerprint() {
				t.Errorf("added %v, removed %v", added, removed)
			}
			close(g.open) // the client hashes on, and hears the refusal
			wantPeerError(t, <-errc, wire.CodeDenied, "removed from the server's allow list")

			src := filepath.Join(t.TempDir(), "src")
			data := randomBytes(42, 3*testBlock)
			writeFile(t, src, data)
			_, err = Push(context.Background(), ts.clientConfig(tr), src, ts.remote("again"), testParams(2, 0), engine.Options{})
			if !errors.Is(err, ErrNotAllowed) {
				t.Errorf("removed client pushes again: %v; want ErrNotAllowed", err)
			}
			cfg := ts.clientConfig(tr)
			cfg.Identity = stranger
			if _, err := Push(context.Background(), cfg, src, ts.remote("new"), testParams(2, 0), engine.Options{}); err != nil {
				t.Fatalf("added client: %v", err)
			}
			if got := readFile(t, filepath.Join(ts.root, "new")); !bytes.Equal(got, data) {
				t.Error("added client's push differs")
			}
			if _, _, err := ts.SetAllow(nil, nil); err == nil {
				t.Error("an empty allow list was accepted")
			}
		})
	}
}
