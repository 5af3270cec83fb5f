package engine

import (
	"bytes"
	"context"
	"os"
	"testing"

	"github.com/pdiffagent/pdiffagent/engine/cache"
	"github.com/pdiffagent/pdiffagent/sysio"
)

// TestCacheChecksum: pipe mode's checksum of an unchanged target reads
// nothing the second time and streams the same hashes; save invalidates
// the record before it writes, and the pipeline stays correct.
func TestCacheChecksum(t *testing.T) {
	g := newCacheRig(t)
	p := g.checksumParams()
	sum := func() ([]byte, int64) { t.Helper(); return g.checksum(Options{Cache: g.store}) }
	first, read := sum()
	if size, _ := os.Stat(g.dst); read != size.Size() {
		t.Fatalf("first checksum read %d of %d bytes", read, size.Size())
	}
	again, read := sum()
	if read != 0 || !bytes.Equal(first, again) {
		t.Fatalf("second checksum read %d bytes; same stream: %v", read, bytes.Equal(first, again))
	}
	run := runPipe(t, g.src, g.dst, p, Options{Cache: g.store}, 0, 0)
	if run.sumErr != nil || run.retErr != nil || run.saveErr != nil {
		t.Fatalf("checksum: %v; retrieve: %v; save: %v", run.sumErr, run.retErr, run.saveErr)
	}
	g.same()
	f, _ := sysio.Open(g.dst, sysio.ReadOnly, sysio.Options{})
	defer f.Close()
	if _, st, _ := g.store.Lookup(f, testBS, uint8(SHA256)); st == cache.Hit {
		t.Fatal("the target's record survived save's writes")
	}
	if _, read := sum(); read == 0 {
		t.Fatal("checksum after save trusted a record")
	}
}

func (g *cacheRig) checksumParams() Params {
	return Params{Session: Session{BlockSize: testBS, Workers: 2}}
}

// checksum runs pipe mode's checksum of the rig's target with opt: the
// stream and the bytes read.
func (g *cacheRig) checksum(opt Options) ([]byte, int64) {
	g.t.Helper()
	f, err := sysio.Open(g.dst, sysio.ReadOnly, sysio.Options{})
	if err != nil {
		g.t.Fatal(err)
	}
	defer f.Close()
	var out bytes.Buffer
	if err := Checksum(context.Background(), f, g.checksumParams(), &out, opt); err != nil {
		g.t.Fatal(err)
	}
	return out.Bytes(), f.BytesRead()
}
