package agent

import (
	"bytes"
	"fmt"
	"os"
	"testing"

	"github.com/pdiffagent/pdiffagent/engine"
	"github.com/pdiffagent/pdiffagent/wire"
)

// TestRefineOverTCP: a push and a pull over TCP between two agents with
// CapRefine send the changed 8 KiB pages of 1 MiB blocks, not the blocks:
// 8 sub-blocks of 4 KiB in 3 blocks, with their hashes on the wire; with
// --min-block 64K (which a push carries to the server, the receiver, in
// its Open), the 4 sub-blocks of 64 KiB that hold them.
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
	for _, c := range []struct {
		op                  string
		minBlock            int
		subs, sent, maxWire int64
	}{
		{"push", 0, 8, 4 * 8192, 100 << 10},
		{"pull", 0, 8, 4 * 8192, 100 << 10},
		{"push", 64 << 10, 4, 4 * 65536, 300 << 10},
		{"pull", 64 << 10, 4, 4 * 65536, 300 << 10},
	} {
		op := c.op
		p := engine.Params{Session: engine.Session{BlockSize: mib, Workers: 2, MinBlock: c.minBlock}}
		t.Run(fmt.Sprintf("%s/%d", op, c.minBlock), func(t *testing.T) {
			out, to := ts.pushOrPull(t, op, TransportTCP, local, op, src, old, p)
			got, err := os.ReadFile(to)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, src) {
				t.Fatal("target differs from the source")
			}
			if out.BlocksRefined != 3 || out.SubBlocksSent != c.subs || out.BytesSent != c.sent || !out.Verified {
				t.Errorf("%+v", out.Stats)
			}
			if out.BytesWire > c.maxWire {
				t.Errorf("bytes_wire %d for %d bytes of sub-blocks", out.BytesWire, c.sent)
			}
		})
	}
}
