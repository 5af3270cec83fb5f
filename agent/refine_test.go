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

// TestRefineOverTCP: a push and a pull over TCP between two agents with
// CapRefine send the changed 8 KiB pages of 1 MiB blocks, not the blocks:
// 8 sub-blocks of 4 KiB in 3 blocks, with their hashes on the wire.
func TestRefineOverTCP(t *testing.T) {
	checkGoroutines(t)
	if !wire.AgentCaps.Has(wire.CapRefine) {
		t.Fatal("this agent does not refine")
	}
	ts := startServer(t, nil)
	local := t.TempDir()
	const mib = 1 << 20
	src := randomBytes(60, 5*mib+777)
	old := bytes.Clone(src)
	for _, off := range []int{0, mib + 40960, 4*mib + 8192, 4*mib + 65536} {
		copy(old[off:off+8192], randomBytes(uint64(off)+1, 8192))
	}
	p := engine.Params{Session: engine.Session{BlockSize: mib, Workers: 2}}
	for _, op := range []string{"push", "pull"} {
		t.Run(op, func(t *testing.T) {
			lp, rp := filepath.Join(local, op), filepath.Join(ts.root, op)
			from, to := lp, rp
			if op == "pull" {
				from, to = rp, lp
			}
			writeFile(t, from, src)
			writeFile(t, to, old)
			var out Outcome
			var err error
			if op == "push" {
				out, err = Push(context.Background(), ts.clientConfig(TransportTCP), lp, ts.remote(op), p, engine.Options{})
			} else {
				out, err = Pull(context.Background(), ts.clientConfig(TransportTCP), ts.remote(op), lp, p, engine.Options{})
			}
			if err != nil {
				t.Fatal(err)
			}
			got, err := os.ReadFile(to)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, src) {
				t.Fatal("target differs from the source")
			}
			if out.BlocksRefined != 3 || out.SubBlocksSent != 8 || out.BytesSent != 4*8192 || !out.Verified {
				t.Errorf("%+v", out.Stats)
			}
			if out.BytesWire > 100<<10 {
				t.Errorf("bytes_wire %d for 32 KiB of pages", out.BytesWire)
			}
		})
	}
}
