package agent

import (
	"bytes"
	"context"
	"path/filepath"
	"testing"

	"github.com/pdiffagent/pdiffagent/engine"
	"github.com/pdiffagent/pdiffagent/engine/cache"
)

// TestPushEqualByRecords: once both sides' records hold every tier-2 hash
// (after two pushes), a push of an unchanged source to its unchanged
// replica reads nothing on either side and exchanges no block hash (the
// wire carries only the stripes' ends and Final), verified by records. A
// replica synced since to another source, its records valid, has another
// record digest: the push compares hashes as usual and ends identical.
func TestPushEqualByRecords(t *testing.T) {
	checkGoroutines(t)
	ts, _ := cachedServer(t)
	cs, err := cache.Open(cache.Options{Dir: filepath.Join(t.TempDir(), "client-cache")})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	srcA, srcB := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	a := randomBytes(31, 64<<20)
	b := bytes.Clone(a)
	b[40<<20] ^= 1
	writeFile(t, srcA, a)
	writeFile(t, srcB, b)
	p := engine.Params{Session: engine.Session{BlockSize: 256 << 10, Workers: 3}}
	blocks := int64(len(a) / (256 << 10))
	run := func(what, src string, want []byte) engine.Stats {
		t.Helper()
		p := p
		p.NoCache = what == "push without cache"
		out, err := Push(context.Background(), ts.clientConfig(TransportTCP), src, ts.remote("replica"), p, engine.Options{Cache: cs})
		if err != nil || !out.Stats.Verified {
			t.Fatalf("%s: %v %+v", what, err, out.Stats)
		}
		if !bytes.Equal(readFile(t, filepath.Join(ts.root, "replica")), want) {
			t.Fatalf("%s: replica differs", what)
		}
		return out.Stats
	}
	run("first push", srcA, a)
	hashed := run("push without cache", srcA, a) // both sides read and hash
	if hashed.SourceRead != int64(len(a)) || hashed.TargetRead != int64(len(a)) {
		t.Fatalf("push without cache: read %d and %d", hashed.SourceRead, hashed.TargetRead)
	}
	run("second push", srcA, a) // the records then hold every tier-2 hash
	st := run("unchanged push", srcA, a)
	if st.SourceRead != 0 || st.TargetRead != 0 || st.SourceCache != "hit" || st.TargetCache != "hit" {
		t.Fatalf("unchanged push: source read %d (%s), target read %d (%s)", st.SourceRead, st.SourceCache, st.TargetRead, st.TargetCache)
	}
	if st.BlocksConfirmed != blocks || st.BlocksChanged != 0 {
		t.Fatalf("unchanged push: %d confirmed, %d changed of %d", st.BlocksConfirmed, st.BlocksChanged, blocks)
	}
	// A WeakBatch and its Verdict carry at least 8+32 bytes a block: the
	// push without cache had them all, the unchanged one none.
	if hashed.BytesWire < 40*blocks || st.BytesWire >= 40*blocks/4 {
		t.Fatalf("bytes on the wire: hashed push %d, unchanged push %d (%d blocks)", hashed.BytesWire, st.BytesWire, blocks)
	}
	if _, read, word := lastSession(t, ts); read != 0 || word != "hit" {
		t.Fatalf("server logged read=%d cache=%s", read, word)
	}

	// The replica becomes b's copy (twice: its record then has every
	// tier-2 hash), then a is pushed again: the record digests differ.
	run("push of b", srcB, b)
	run("push of b again", srcB, b)
	st = run("push of a to b's replica", srcA, a)
	if st.BlocksChanged != 1 || st.TargetRead == 0 {
		t.Fatalf("push of a to b's replica: %d blocks changed, target read %d", st.BlocksChanged, st.TargetRead)
	}
}
