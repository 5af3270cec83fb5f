package cache

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/pdiffagent/pdiffagent/sysio"
)

const testBlock = 4096

// newStore opens a store in a fresh directory.
func newStore(t testing.TB, o Options) *Store {
	t.Helper()
	if o.Dir == "" {
		o.Dir = filepath.Join(t.TempDir(), "cache")
	}
	s, err := Open(o)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// newFile makes a file of size bytes (content derived from seed) and
// opens it read-write.
func newFile(t testing.TB, size int, seed byte) *sysio.File {
	t.Helper()
	p := filepath.Join(t.TempDir(), "f")
	b := make([]byte, size)
	for i := range b {
		b[i] = byte(i/7) ^ seed
	}
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := sysio.Open(p, sysio.ReadWrite, sysio.Options{Direct: sysio.DirectOff})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// entry is the made-up hash of block i: records do not care what they hold.
func entry(i uint64) Entry {
	var e Entry
	e.Weak = i*0x9e3779b97f4a7c15 + 1
	binary.LittleEndian.PutUint64(e.Strong[:], i)
	e.Strong[31] = 0xAB
	return e
}

func entries(first, n uint64) []Entry {
	es := make([]Entry, n)
	for i := range es {
		es[i] = entry(first + uint64(i))
	}
	return es
}

// record writes and commits a complete record of f.
func record(t testing.TB, s *Store, f *sysio.File) {
	t.Helper()
	size, err := f.Size()
	if err != nil {
		t.Fatal(err)
	}
	w, err := s.Create(f, size, testBlock, 1)
	if err != nil || w == nil {
		t.Fatalf("Create: %v %v", w, err)
	}
	if err := w.Put(0, entries(0, BlocksFor(size, testBlock))); err != nil {
		t.Fatal(err)
	}
	if err := w.Commit(f); err != nil {
		t.Fatal(err)
	}
}

func lookup(t testing.TB, s *Store, f *sysio.File) (*Record, Status) {
	t.Helper()
	r, st, err := s.Lookup(f, testBlock, 1)
	if err != nil {
		t.Fatal(err)
	}
	if r != nil {
		t.Cleanup(func() { r.Close() })
	}
	return r, st
}

func recordPath(t testing.TB, s *Store, f *sysio.File) string {
	id, err := f.Identity()
	if err != nil {
		t.Fatal(err)
	}
	return s.path(key(id))
}

// scribble writes behind the cache's back and restores mtime, as
// `dd conv=notrunc` then `touch -r` would.
func scribble(t testing.TB, f *sysio.File, off int64) {
	t.Helper()
	size, mtime, _, err := f.Stat()
	if err != nil || size <= off {
		t.Fatal(size, err)
	}
	b := []byte{0}
	if _, err := f.ReadAt(b, off); err != nil {
		t.Fatal(err)
	}
	b[0] ^= 0xFF
	if _, err := f.WriteAt(b, off); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(f.Name(), time.Unix(0, mtime), time.Unix(0, mtime)); err != nil {
		t.Fatal(err)
	}
	if _, m2, _, _ := f.Stat(); m2 != mtime {
		t.Fatalf("mtime not restored: %d != %d", m2, mtime)
	}
}
