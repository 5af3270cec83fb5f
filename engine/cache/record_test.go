package cache

import (
	"errors"
	"math/rand/v2"
	"os"
	"runtime"
	"sync"
	"testing"
)

func TestRecordRoundTrip(t *testing.T) {
	s := newStore(t, Options{})
	const blocks = 3*chunkBlocks + 17
	f := newFile(t, blocks*testBlock-5, 1)
	if _, st := lookup(t, s, f); st != Miss {
		t.Fatalf("empty cache: %v", st)
	}
	w, err := s.Create(f, blocks*testBlock-5, testBlock, 1)
	if err != nil {
		t.Fatal(err)
	}
	// Four workers, each a stripe, each in random-sized pieces in order.
	var wg sync.WaitGroup
	for k := range uint64(4) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			lo, hi := k*blocks/4, (k+1)*blocks/4
			for lo < hi {
				n := min(hi-lo, 1+rand.Uint64N(700))
				if err := w.Put(lo, entries(lo, n)); err != nil {
					t.Error(err)
				}
				lo += n
			}
		}()
	}
	wg.Wait()
	if err := w.Commit(f); err != nil {
		t.Fatal(err)
	}
	r, st := lookup(t, s, f)
	if st != Hit {
		t.Fatalf("after commit: %v", st)
	}
	if r.Blocks != blocks || r.BlockSize != testBlock || r.Method != 1 {
		t.Fatalf("header %+v", r.Header)
	}
	got := make([]Entry, 1500)
	if err := r.Read(chunkBlocks-100, got); err != nil {
		t.Fatal(err)
	}
	for i, e := range got {
		if e != entry(uint64(chunkBlocks-100+i)) {
			t.Fatalf("block %d: wrong entry", chunkBlocks-100+i)
		}
	}
	next := uint64(5)
	err = r.Range(5, blocks-5, func(first uint64, es []Entry) error {
		if first != next || len(es) > chunkBlocks {
			t.Fatalf("batch at %d (want %d), %d entries", first, next, len(es))
		}
		for i, e := range es {
			if e != entry(first+uint64(i)) {
				t.Fatalf("block %d: wrong entry", first+uint64(i))
			}
		}
		next += uint64(len(es))
		return nil
	})
	if err != nil || next != blocks {
		t.Fatalf("Range: %v, ended at %d", err, next)
	}
	if err := r.Read(blocks-1, make([]Entry, 2)); err == nil {
		t.Fatal("read beyond the end")
	}
	if fi, err := os.Stat(s.Dir()); err != nil || fi.Mode().Perm() != 0o700 {
		t.Fatalf("cache dir mode %v %v", fi.Mode(), err)
	}
}

func TestWriterRefusesIncompleteAndDuplicate(t *testing.T) {
	s := newStore(t, Options{})
	f := newFile(t, 10*testBlock, 2)
	w, _ := s.Create(f, 10*testBlock, testBlock, 1)
	if err := w.Put(0, entries(0, 9)); err != nil {
		t.Fatal(err)
	}
	if err := w.Commit(f); !errors.Is(err, ErrIncomplete) {
		t.Fatalf("commit of 9 of 10 blocks: %v", err)
	}
	if _, st := lookup(t, s, f); st != Miss {
		t.Fatalf("incomplete record visible: %v", st)
	}
	w, _ = s.Create(f, 10*testBlock, testBlock, 1)
	w.Put(0, entries(0, 5))
	if err := w.Put(4, entries(4, 2)); err == nil {
		t.Fatal("block 4 taken twice")
	}
	if err := w.Put(9, entries(9, 2)); err == nil {
		t.Fatal("block 10 of 10 taken")
	}
	w.Abort()
	w, _ = s.Create(f, 10*testBlock, testBlock, 1)
	w.Put(0, entries(0, 10))
	if err := w.Commit(f); err != nil {
		t.Fatal(err)
	}
	// A record for one block size is a miss for another, and stays.
	if _, st, _ := s.Lookup(f, 2*testBlock, 1); st != Miss {
		t.Fatalf("other block size: %v", st)
	}
	if _, st, _ := s.Lookup(f, testBlock, 2); st != Miss {
		t.Fatalf("other method: %v", st)
	}
	if _, st := lookup(t, s, f); st != Hit {
		t.Fatalf("record lost: %v", st)
	}
	ents, _ := os.ReadDir(s.Dir())
	if len(ents) != 1 {
		t.Fatalf("left behind: %v", ents)
	}
}

// TestRecordStreamsBoundedMemory writes and reads a record of 2^20 blocks
// (40 MiB of hashes, a 4 GiB sparse file) and checks that neither side
// holds it: the heap never grows by more than a quarter of it.
func TestRecordStreamsBoundedMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	const blocks = 1 << 20
	s := newStore(t, Options{})
	f := newFile(t, 0, 0)
	if err := f.Truncate(blocks * testBlock); err != nil {
		t.Fatal(err)
	}
	var peak uint64
	base := heap()
	sample := func() { peak = max(peak, heap()) }
	w, err := s.Create(f, blocks*testBlock, testBlock, 1)
	if err != nil {
		t.Fatal(err)
	}
	batch := make([]Entry, 4096)
	for first := uint64(0); first < blocks; first += uint64(len(batch)) {
		for i := range batch {
			batch[i] = entry(first + uint64(i))
		}
		if err := w.Put(first, batch); err != nil {
			t.Fatal(err)
		}
		if first%(64*4096) == 0 {
			sample()
		}
	}
	if err := w.Commit(f); err != nil {
		t.Fatal(err)
	}
	r, st := lookup(t, s, f)
	if st != Hit {
		t.Fatal(st)
	}
	n := 0
	err = r.Range(0, blocks, func(first uint64, es []Entry) error {
		for i := range es {
			if es[i] != entry(first+uint64(i)) {
				t.Fatalf("block %d", first+uint64(i))
			}
		}
		if n++; n%256 == 0 {
			sample()
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	const limit = blocks * entrySize / 4
	if peak > base+limit {
		t.Fatalf("heap grew by %d MiB streaming a %d MiB record", (peak-base)>>20, blocks*entrySize>>20)
	}
}

func heap() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse
}

// TestRecordLazy: a record with an entry that holds no tier-2 hash
// (NoStrong) is Lazy, and gives that entry back without one; a record of
// full entries is not Lazy.
func TestRecordLazy(t *testing.T) {
	s := newStore(t, Options{})
	f := newFile(t, 10*testBlock, 3)
	record(t, s, f)
	if r, st := lookup(t, s, f); st != Hit || r.Lazy {
		t.Fatalf("full record: %v, lazy %v", st, r != nil && r.Lazy)
	}
	w, err := s.Create(f, 10*testBlock, testBlock, 1)
	if err != nil || w == nil {
		t.Fatalf("Create: %v %v", w, err)
	}
	es := entries(0, 10)
	es[4].Strong = NoStrong
	if err := w.Put(0, es); err != nil {
		t.Fatal(err)
	}
	if err := w.Commit(f); err != nil {
		t.Fatal(err)
	}
	r, st := lookup(t, s, f)
	if st != Hit || !r.Lazy {
		t.Fatalf("lazy record: %v, lazy %v", st, r != nil && r.Lazy)
	}
	got := make([]Entry, 10)
	if err := r.Read(0, got); err != nil {
		t.Fatal(err)
	}
	for i, e := range got {
		if e.HasStrong() != (i != 4) || e.Weak != es[i].Weak {
			t.Fatalf("block %d: %+v", i, e)
		}
	}
}
