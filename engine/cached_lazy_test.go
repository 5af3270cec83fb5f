package engine

import (
	"bytes"
	"context"
	"os"
	"testing"
)

// TestCacheLazyStrongFullyChanged: a fully changed sync records the blocks
// it sent and wrote by their tier-1 hash only (no tier-2 hash in the bulk
// path); the rerun with nothing changed reads exactly those blocks on each
// side to confirm them with tier 2, and records their tier-2 hashes; the
// run after it reads nothing.
func TestCacheLazyStrongFullyChanged(t *testing.T) {
	g := newCacheRig(t)
	size := int64(len(g.data))
	os.WriteFile(g.dst, randBytes(8, len(g.data)), 0o644)
	for run, want := range []struct {
		word string
		read int64
	}{{"miss", size}, {"hit", size}, {"hit", 0}} {
		snd, rcv := g.pair(g.params(false), nil)
		for _, st := range []Stats{snd, rcv} {
			wantSource(t, st, want.word, want.read)
			wantCache(t, st, want.word, want.read)
		}
		if changed := map[int]int64{0: cacheBlocks}[run]; rcv.BlocksChanged != changed {
			t.Fatalf("run %d: %d blocks changed, want %d", run, rcv.BlocksChanged, changed)
		}
	}
}

// TestCacheLazyStrongChecksum: pipe mode's checksum of a target recorded
// without tier-2 hashes streams the real ones (the same stream as without
// a cache), reading the blocks whose tier-2 hash the record lacks, once.
func TestCacheLazyStrongChecksum(t *testing.T) {
	g := newCacheRig(t)
	size := int64(len(g.data))
	os.WriteFile(g.dst, randBytes(8, len(g.data)), 0o644)
	g.sync(false)
	sum := g.checksum
	plain, _ := sum(Options{})
	cached, read := sum(Options{Cache: g.store})
	if !bytes.Equal(plain, cached) || read != size {
		t.Fatalf("checksum of a lazy record: read %d of %d; same stream as without a cache: %v", read, size, bytes.Equal(plain, cached))
	}
	if again, read := sum(Options{Cache: g.store}); !bytes.Equal(plain, again) || read != 0 {
		t.Fatalf("second checksum read %d; same stream: %v", read, bytes.Equal(plain, again))
	}
}

// TestCacheLazyStrongWeakCollision: with a tier-1 hash blind to byte 7
// of every block, a change there to a block recorded without a tier-2
// hash is still caught: the target's (changed source) and the source's
// (changed target) recorded block is read and tier-2 hashed, the
// collision is caught and the block sent.
func TestCacheLazyStrongWeakCollision(t *testing.T) {
	g := newCacheRig(t)
	blind := func(b []byte) uint64 {
		c := append([]byte(nil), b...)
		if len(c) > 7 {
			c[7] = 0
		}
		return DefaultWeak(c)
	}
	opt := Options{Cache: g.store, Weak: blind}
	run := func(what string) Stats {
		t.Helper()
		st, err := SyncLocal(context.Background(), g.src, g.dst, g.params(false), opt)
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		g.same()
		if !st.Verified {
			t.Fatalf("%s: not verified: %+v", what, st)
		}
		return st
	}
	want := func(what string, st Stats, collisions int64) {
		t.Helper()
		if st.WeakCollisions != collisions || st.BlocksChanged != collisions {
			t.Fatalf("%s: %d collisions, %d changed; want %d of each (%+v)", what, st.WeakCollisions, st.BlocksChanged, collisions, st)
		}
	}
	if st := run("first sync"); st.BlocksChanged != 3 || st.WeakCollisions != 0 {
		t.Fatalf("first sync: %+v", st) // blocks 0, 9 and 40, recorded by tier 1 only
	}
	g.changeSource(9*testBS + 7)
	st := run("source changed")
	want("source changed", st, 1)
	wantCache(t, st, "hit", 3*testBS) // 0, 9 and 40 read to confirm; 9 differs
	os.WriteFile(g.dst, flip(g.data, 9*testBS+7), 0o644)
	st = run("target changed")
	want("target changed", st, 1)
	wantSource(t, st, "hit", testBS) // block 9, sent last time: read once, found to differ, sent
}
