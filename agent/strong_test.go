package agent

import (
	"bytes"
	"context"
	"path/filepath"
	"testing"

	"github.com/pdiffagent/pdiffagent/engine"
)

// TestStrongHashTravels pushes and pulls with each tier-2 hash: the hash
// the client chose must reach the server in Open, or the server's strong
// hashes of the kept blocks would not confirm and every block would travel.
func TestStrongHashTravels(t *testing.T) {
	checkGoroutines(t)
	ts := startServer(t, nil)
	local := t.TempDir()
	src := randomBytes(5, 12*testBlock+99)
	old := bytes.Clone(src)
	old[3*testBlock+1] ^= 1
	old[11*testBlock] ^= 1
	for _, h := range []engine.StrongHash{engine.SHA256, engine.BLAKE3, engine.SHA512_256} {
		for _, op := range []string{"push", "pull"} {
			t.Run(h.String()+"/"+op, func(t *testing.T) {
				name := h.String() + "-" + op
				lp, rp := filepath.Join(local, name), filepath.Join(ts.root, name)
				from, to := lp, rp
				if op == "pull" {
					from, to = rp, lp
				}
				writeFile(t, from, src)
				writeFile(t, to, old)
				p := testParams(2, 0)
				p.Strong = h
				opt := engine.Options{}
				var out Outcome
				var err error
				if op == "push" {
					out, err = Push(context.Background(), ts.clientConfig(TransportTCP), lp, ts.remote(name), p, opt)
				} else {
					out, err = Pull(context.Background(), ts.clientConfig(TransportTCP), ts.remote(name), lp, p, opt)
				}
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(readFile(t, to), src) {
					t.Fatal("target differs from the source")
				}
				if out.BlocksChanged != 2 || out.BlocksConfirmed != 11 || out.WeakCollisions != 0 || !out.Verified {
					t.Errorf("changed %d, confirmed %d, collisions %d, verified %v; want 2, 11, 0, true",
						out.BlocksChanged, out.BlocksConfirmed, out.WeakCollisions, out.Verified)
				}
			})
		}
	}
}
