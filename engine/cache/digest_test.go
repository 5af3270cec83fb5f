package cache

import (
	"os"
	"testing"
)

// Two records of the same hash list have the same digest, whatever the
// order their blocks were put in; one block's hash, the size or a Lazy
// record makes it differ or go; a torn trailer leaves none.
func TestRecordDigest(t *testing.T) {
	s := newStore(t, Options{})
	const blocks = 2*chunkBlocks + 5
	size := blocks*testBlock - 3
	make1 := func(seed byte, sz int, edit func(es []Entry)) *Record {
		f := newFile(t, sz, seed)
		w, err := s.Create(f, int64(sz), testBlock, 1)
		if err != nil || w == nil {
			t.Fatalf("Create: %v %v", w, err)
		}
		n := BlocksFor(int64(sz), testBlock)
		es := entries(0, n)
		if edit != nil {
			edit(es)
		}
		for lo := n; lo > 0; { // backwards, in pieces
			k := min(lo, 300)
			if err := w.Put(lo-k, es[lo-k:lo]); err != nil {
				t.Fatal(err)
			}
			lo -= k
		}
		if err := w.Commit(f); err != nil {
			t.Fatal(err)
		}
		r, st := lookup(t, s, f)
		if st != Hit {
			t.Fatalf("lookup: %v", st)
		}
		t.Cleanup(func() { r.Close() })
		return r
	}
	a, b := make1(1, size, nil), make1(2, size, nil)
	if !a.HasDigest || !b.HasDigest || a.Digest != b.Digest {
		t.Fatalf("same hash list: digests %v %x, %v %x", a.HasDigest, a.Digest[:4], b.HasDigest, b.Digest[:4])
	}
	c := make1(3, size, func(es []Entry) { es[chunkBlocks+7].Strong[3] ^= 1 })
	if !c.HasDigest || c.Digest == a.Digest {
		t.Fatal("one tier-2 hash changed: same digest")
	}
	d := make1(4, size-1, nil) // same blocks, one byte shorter
	if !d.HasDigest || d.Digest == a.Digest {
		t.Fatal("other size: same digest")
	}
	e := make1(5, size, func(es []Entry) { es[9].Strong = NoStrong })
	if e.HasDigest {
		t.Fatal("a Lazy record has a digest")
	}
	// A torn trailer: no digest, the record still a hit.
	f := newFile(t, size, 6)
	record(t, s, f)
	p := recordPath(t, s, f)
	st, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(p, st.Size()-1); err != nil {
		t.Fatal(err)
	}
	r, status := lookup(t, s, f)
	if status != Hit || r.HasDigest {
		t.Fatalf("torn trailer: %v, digest %v", status, r.HasDigest)
	}
	r.Close()
}
