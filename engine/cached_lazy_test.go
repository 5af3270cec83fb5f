package engine

import (
	"bytes"
	"context"
	"os"
	"syscall"
	"testing"

	"github.com/pdiffagent/pdiffagent/engine/cache"
	"github.com/pdiffagent/pdiffagent/sysio"
	"github.com/pdiffagent/pdiffagent/wire"
)

// TestCacheFullyChangedRecordsWhole: a fully changed sync records every
// block it sent and wrote with both hashes (each side hashes the block
// while it holds it), so the rerun with nothing changed reads nothing on
// either side.
func TestCacheFullyChangedRecordsWhole(t *testing.T) {
	g := newCacheRig(t)
	size := int64(len(g.data))
	os.WriteFile(g.dst, randBytes(8, len(g.data)), 0o644)
	for run, want := range []struct {
		word string
		read int64
	}{{"miss", size}, {"hit", 0}} {
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

// lazify rewrites file's record with the tier-2 hash of blocks left out
// (cache.NoStrong), as a record that lacks them holds.
func lazify(t *testing.T, s *cache.Store, file string, p Params, blocks ...int64) {
	t.Helper()
	f, err := sysio.Open(file, sysio.ReadOnly, sysio.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rec, st, err := s.Lookup(f, p.BlockSize, p.RecordMethod())
	if err != nil || st != cache.Hit {
		t.Fatalf("lookup %s: %v %v", file, st, err)
	}
	es := make([]cache.Entry, rec.Blocks)
	err = rec.Read(0, es)
	rec.Close()
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range blocks {
		es[b].Strong = cache.NoStrong
	}
	size, _ := f.Size()
	w, err := s.Create(f, size, p.BlockSize, p.RecordMethod())
	if w == nil {
		t.Fatal(err)
	}
	if err := w.Put(0, es); err != nil {
		t.Fatal(err)
	}
	if err := w.Commit(f); err != nil {
		t.Fatal(err)
	}
}

// TestCacheLazyStrongChecksum: pipe mode's checksum of a target whose
// record lacks some tier-2 hashes streams the real ones (the same stream
// as without a cache), reading those blocks, once.
func TestCacheLazyStrongChecksum(t *testing.T) {
	g := newCacheRig(t)
	// Pipe mode's tier 1 is xxhash64: the record must be made so (a peer
	// without CapXXH3) for its checksum to use it.
	p := g.params(false)
	p.Caps &^= wire.CapXXH3
	g.pair(p, nil)
	bound, _ := p.Bind(int64(len(g.data)))
	lazify(t, g.store, g.dst, bound, 3, 30)
	sum := g.checksum
	plain, _ := sum(Options{})
	cached, read := sum(Options{Cache: g.store})
	if !bytes.Equal(plain, cached) || read != 2*testBS {
		t.Fatalf("checksum of a lazy record: read %d, want %d; same stream as without a cache: %v", read, 2*testBS, bytes.Equal(plain, cached))
	}
	if again, read := sum(Options{Cache: g.store}); !bytes.Equal(plain, again) || read != 0 {
		t.Fatalf("second checksum read %d; same stream: %v", read, bytes.Equal(plain, again))
	}
}

// TestCacheLazyStrongWeakCollision: with a tier-1 hash blind to byte 7
// of every block, a change there to a block recorded without a tier-2
// hash is still caught: the target's (changed source) and the source's
// (changed target) recorded block is read and tier-2 hashed, the
// collision is caught and the block sent; both records then hold it.
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
		t.Fatalf("first sync: %+v", st) // blocks 0, 9 and 40
	}
	bound, _ := g.params(false).Bind(int64(len(g.data)))
	lazify(t, g.store, g.dst, bound, 0, 9, 40)
	lazify(t, g.store, g.src, bound, 0, 9, 40)
	g.changeSource(9*testBS + 7)
	st := run("source changed")
	want("source changed", st, 1)
	wantCache(t, st, "hit", 3*testBS) // 0, 9 and 40 read to confirm; 9 differs
	wantCache(t, run("source unchanged"), "hit", 0)
	lazify(t, g.store, g.src, bound, 9)
	os.WriteFile(g.dst, flip(g.data, 9*testBS+7), 0o644)
	st = run("target changed")
	want("target changed", st, 1)
	wantSource(t, st, "hit", testBS) // block 9: read once, found to differ, sent
	st = run("both unchanged")
	wantSource(t, st, "hit", 0)
	wantCache(t, st, "hit", 0)
}

// TestCacheWeakCollisionKeepsRecord: a block the receiver offers from its
// record whose tier-2 hash then disagrees (a forced weak collision) is
// sent and written; the receiver records it once, as written, so its
// record survives the session: the next run reads nothing on either side.
// (Recording the offered block when it was offered put it twice, and the
// record was lost.)
func TestCacheWeakCollisionKeepsRecord(t *testing.T) {
	g := newCacheRig(t)
	blind := func(b []byte) uint64 { // blind to byte 7 of a block
		c := append([]byte(nil), b...)
		if len(c) > 7 {
			c[7] = 0
		}
		return DefaultWeak(c)
	}
	opt := Options{Cache: g.store, Weak: blind}
	for run, want := range []struct {
		change              int // offset flipped in the source, -1 none
		collisions, srcRead int64
		tgtWord             string
		tgtRead             int64
	}{{-1, 0, int64(len(g.data)), "miss", int64(len(g.data))}, {12*testBS + 7, 1, int64(len(g.data)), "hit", 0}, {-1, 0, 0, "hit", 0}} {
		if want.change >= 0 {
			g.changeSource(want.change)
		}
		st, err := SyncLocal(context.Background(), g.src, g.dst, g.params(false), opt)
		if err != nil {
			t.Fatalf("run %d: %v", run, err)
		}
		g.same()
		if !st.Verified || st.WeakCollisions != want.collisions {
			t.Fatalf("run %d: verified %v, %d collisions, want %d", run, st.Verified, st.WeakCollisions, want.collisions)
		}
		wantCache(t, st, want.tgtWord, want.tgtRead)
		if st.SourceRead != want.srcRead {
			t.Fatalf("run %d: source read %d, want %d", run, st.SourceRead, want.srcRead)
		}
	}
}

// TestCacheAtomic: an atomic sync's receiver takes its hashes from the
// record of the file it replaces (its replacement starts as a copy of
// it), and records the replacement with its identity after the rename:
// the second atomic sync of an unchanged source reads nothing on either
// side. A write behind pdiffagent's back (mtime restored) is still seen.
func TestCacheAtomic(t *testing.T) {
	g := newCacheRig(t)
	size := int64(len(g.data))
	atomicSync := func() Stats {
		t.Helper()
		st, err := SyncLocalAtomic(context.Background(), g.src, g.dst, g.params(false), Options{Cache: g.store})
		if err != nil || !st.Verified {
			t.Fatalf("atomic sync: %v %+v", err, st)
		}
		g.same()
		return st
	}
	st := atomicSync()
	wantCache(t, st, "miss", size)
	wantSource(t, st, "miss", size)
	for range 2 {
		st = atomicSync()
		wantCache(t, st, "hit", 0)
		wantSource(t, st, "hit", 0)
	}
	fi, _ := os.Stat(g.dst)
	f, _ := os.OpenFile(g.dst, os.O_WRONLY, 0)
	f.WriteAt([]byte{g.data[30*testBS] ^ 1}, 30*testBS)
	f.Close()
	os.Chtimes(g.dst, fi.ModTime(), fi.ModTime())
	st = atomicSync()
	wantCache(t, st, "stale", size)
	if st.BlocksChanged != 1 {
		t.Fatalf("%d blocks repaired, want 1", st.BlocksChanged)
	}
	wantCache(t, atomicSync(), "hit", 0)
}

// TestCacheUnchangedKeepsRecord: a session that writes nothing to a
// target whose record it used leaves that record as it is (no
// invalidation, no journal, no new record, no fsync): the record file is
// the same one afterwards. A mode change at the source is applied, which
// moves ctime: the target is recorded again, and the next run is a hit.
func TestCacheUnchangedKeepsRecord(t *testing.T) {
	g := newCacheRig(t)
	g.sync(false)
	ino := func() uint64 {
		t.Helper()
		fi, err := os.Stat(recordFile(t, g.store, g.dst))
		if err != nil {
			t.Fatal(err)
		}
		return fi.Sys().(*syscall.Stat_t).Ino
	}
	before := ino()
	wantCache(t, g.sync(false), "hit", 0)
	if after := ino(); after != before {
		t.Fatalf("the record of an unchanged target was made again (inode %d, was %d)", after, before)
	}
	os.Chmod(g.src, 0o600)
	wantCache(t, g.sync(false), "hit", 0)
	if fi, _ := os.Stat(g.dst); fi.Mode().Perm() != 0o600 {
		t.Fatalf("target mode %v, want 0600", fi.Mode().Perm())
	}
	wantCache(t, g.sync(false), "hit", 0)
}
