package agent

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/pdiffagent/pdiffagent/engine"
	"github.com/pdiffagent/pdiffagent/wire"
)

// TestRollingOverNetwork: a push and a pull, over TCP and QUIC, between two
// agents with CapRolling, of a file with 4 KiB inserted near its start
// send about the insertion and copy the rest within the target; with
// --no-rolling (Session.NoRolling, which travels in Open) the same sync
// sends every block after it.
func TestRollingOverNetwork(t *testing.T) {
	checkGoroutines(t)
	if !wire.AgentCaps.Has(wire.CapRolling) {
		t.Fatal("this agent does not search for moved data")
	}
	ts := startServer(t, nil)
	local := t.TempDir()
	const mib = 1 << 20
	old := randomBytes(70, 6*mib+123)
	src := append(append(bytes.Clone(old[:mib]), randomBytes(71, 4096)...), old[mib:]...)
	for _, tr := range []string{TransportTCP, TransportQUIC} {
		for _, op := range []string{"push", "pull"} {
			for _, noRolling := range []bool{false, true} {
				name := op + "-" + tr
				if noRolling {
					name += "-no-rolling"
				}
				t.Run(name, func(t *testing.T) {
					p := engine.Params{Session: engine.Session{BlockSize: 256 << 10, Workers: 2, NoRolling: noRolling}}
					out, to := ts.pushOrPull(t, op, tr, local, name, src, old, p)
					got, err := os.ReadFile(to)
					if err != nil {
						t.Fatal(err)
					}
					if !bytes.Equal(got, src) || !out.Verified {
						t.Fatalf("target differs from the source, or not verified: %+v", out.Stats)
					}
					switch {
					case noRolling && (out.BlocksMoved != 0 || out.BytesSent < 5*mib):
						t.Errorf("--no-rolling: %+v", out.Stats)
					case !noRolling && (out.BlocksMoved == 0 || out.BytesSent > 4096+3*(256<<10)):
						t.Errorf("moved %d blocks, sent %d bytes for 4 KiB inserted: %+v", out.BlocksMoved, out.BytesSent, out.Stats)
					}
				})
			}
		}
	}
}

// TestRollingWithServerRecord: in the steady state of replication (the
// server holds a record of its unchanged replica, so it reads none of the
// blocks it keeps), a push of a file with 4 KiB inserted near its start
// still sends about the insertion: the server reads the blocks it
// rewrites and offers them to the search. It sent the whole file after
// the insertion before.
func TestRollingWithServerRecord(t *testing.T) {
	checkGoroutines(t)
	ts, _ := cachedServer(t)
	const mib = 1 << 20
	old := randomBytes(72, 6*mib+123)
	src := filepath.Join(t.TempDir(), "src")
	p := engine.Params{Session: engine.Session{BlockSize: 256 << 10, Workers: 2}}
	for round, data := range [][]byte{old, append(append(bytes.Clone(old[:mib]), randomBytes(73, 4096)...), old[mib:]...)} {
		writeFile(t, src, data)
		out, err := push(t, ts, src, "replica", p, engine.Options{})
		if err != nil || !out.Stats.Verified {
			t.Fatalf("push %d: %v %+v", round, err, out.Stats)
		}
		if !bytes.Equal(readFile(t, filepath.Join(ts.root, "replica")), data) {
			t.Fatalf("push %d: replica differs", round)
		}
		if round == 1 && (out.TargetCache != "hit" || out.BlocksMoved == 0 || out.BytesSent > 4096+3*(256<<10)) {
			t.Errorf("server cache %s, moved %d blocks, sent %d bytes for 4 KiB inserted: %+v", out.TargetCache, out.BlocksMoved, out.BytesSent, out.Stats)
		}
	}
}
