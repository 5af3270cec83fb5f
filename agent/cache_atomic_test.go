package agent

import (
	"bytes"
	"context"
	"path/filepath"
	"testing"

	"github.com/pdiffagent/pdiffagent/engine"
	"github.com/pdiffagent/pdiffagent/engine/cache"
)

// TestCachedAtomicPush: two --atomic pushes of an unchanged file, both
// sides caching: the second is a hit on both sides and reads nothing (the
// server takes the replaced file's record for its copy, and recorded the
// replacement after its rename); the replica is byte-identical.
func TestCachedAtomicPush(t *testing.T) {
	checkGoroutines(t)
	ts, _ := cachedServer(t)
	cs, err := cache.Open(cache.Options{Dir: filepath.Join(t.TempDir(), "client-cache")})
	if err != nil {
		t.Fatal(err)
	}
	src := filepath.Join(t.TempDir(), "src")
	data := randomBytes(25, 100*testBlock+5)
	writeFile(t, src, data)
	writeFile(t, filepath.Join(ts.root, "replica"), randomBytes(26, len(data)))
	cfg := ts.clientConfig(TransportTCP)
	cfg.Atomic = true
	size := int64(len(data))
	for round, want := range []struct {
		word string
		read int64
	}{{"miss", size}, {"hit", 0}, {"hit", 0}} {
		out, err := Push(context.Background(), cfg, src, ts.remote("replica"), testParams(2, 0), engine.Options{Cache: cs})
		if err != nil || !out.Stats.Verified {
			t.Fatalf("push %d: %v %+v", round, err, out.Stats)
		}
		if !bytes.Equal(readFile(t, filepath.Join(ts.root, "replica")), data) {
			t.Fatalf("push %d: replica differs", round)
		}
		_, read, word := lastSession(t, ts)
		st := out.Stats
		if word != want.word || read != want.read || st.SourceCache != want.word || st.SourceRead != want.read {
			t.Fatalf("push %d: server cache=%s read=%d, client cache=%s read=%d; want %s, %d", round, word, read, st.SourceCache, st.SourceRead, want.word, want.read)
		}
	}
}
