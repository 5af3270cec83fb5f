package agent

import (
	"bytes"
	"context"
	"path/filepath"
	"testing"

	"github.com/pdiffagent/pdiffagent/engine"
	"github.com/pdiffagent/pdiffagent/sysio/sysiotest"
)

// TestServerDirectRead pulls a cold file from a server started with
// DirectRead: the server's copy stays out of its page cache, as it does
// not from a server without it (the control, which shows that the count
// can fail).
func TestServerDirectRead(t *testing.T) {
	checkGoroutines(t)
	for _, c := range []struct {
		name   string
		direct bool
		cached bool
	}{{"direct", true, false}, {"buffered", false, true}} {
		t.Run(c.name, func(t *testing.T) {
			ts := startServer(t, func(cfg *ServerConfig) { cfg.DirectRead = c.direct })
			src := randomBytes(12, 64*testBlock+100)
			rp, lp := filepath.Join(ts.root, "f"), filepath.Join(t.TempDir(), "f")
			writeFile(t, rp, src)
			old := bytes.Clone(src)
			old[30*testBlock] ^= 1
			writeFile(t, lp, old)
			sysiotest.DropCache(t, rp)
			if n := sysiotest.CachedPages(t, rp); n != 0 {
				t.Skipf("%d pages stay cached after DONTNEED", n)
			}
			out, err := Pull(context.Background(), ts.clientConfig(TransportTCP), ts.remote("f"), lp, testParams(2, 0), engine.Options{})
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(readFile(t, lp), src) || out.BlocksChanged != 1 {
				t.Fatalf("target differs, or %d blocks changed, want 1", out.BlocksChanged)
			}
			if n := sysiotest.CachedPages(t, rp); (n > 0) != c.cached {
				t.Errorf("%d pages of the served file cached after the pull, want cached=%v", n, c.cached)
			}
		})
	}
}
