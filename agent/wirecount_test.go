package agent

import (
	"bytes"
	"context"
	"path/filepath"
	"testing"

	"github.com/pdiffagent/pdiffagent/engine"
)

// TestBytesWireMatchesLocal checks that bytes_wire counts the same frames
// over TCP and QUIC, from either end, as a local sync counts for its
// in-memory streams, so that the two can be compared.
func TestBytesWireMatchesLocal(t *testing.T) {
	checkGoroutines(t)
	ts := startServer(t, nil)
	local := t.TempDir()
	src := randomBytes(8, 40*testBlock+321)
	old := bytes.Clone(src)
	for _, off := range []int{5, 17*testBlock + 2, 40 * testBlock} {
		old[off] ^= 0xff
	}
	ls, ld := filepath.Join(local, "src"), filepath.Join(local, "dst")
	writeFile(t, ls, src)
	writeFile(t, ld, old)
	ref, err := engine.SyncLocal(context.Background(), ls, ld, testParams(3, 0), engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if ref.BytesWire <= ref.BytesSent || ref.BlocksChanged != 3 {
		t.Fatalf("local: bytes_wire %d, bytes_sent %d, changed %d", ref.BytesWire, ref.BytesSent, ref.BlocksChanged)
	}
	for _, tr := range transports {
		for _, op := range []string{"push", "pull"} {
			t.Run(tr+"/"+op, func(t *testing.T) {
				name := tr + "-" + op
				out, _ := ts.pushOrPull(t, op, tr, local, name, src, old, testParams(3, 0))
				if out.BytesWire != ref.BytesWire || out.BytesSent != ref.BytesSent {
					t.Errorf("bytes_wire %d, bytes_sent %d; local sync %d, %d", out.BytesWire, out.BytesSent, ref.BytesWire, ref.BytesSent)
				}
			})
		}
	}
}
