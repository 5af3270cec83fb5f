package cache

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/pdiffagent/pdiffagent/sysio"
)

// TestCurrentDigest: a current, complete record's digest is given for the
// identity an lstat of the file's name takes (the one a tree's listing
// sends), and only for the record's block size and method; a write that
// restores size and mtime makes the record stale (ctime), and no digest
// is given for it, nor for a file without a record.
func TestCurrentDigest(t *testing.T) {
	if !sysio.CanSyncFS() {
		t.Skip("no identity the cache trusts on this platform")
	}
	s := newStore(t, Options{})
	f := newFile(t, 3*testBlock+5, 1)
	statID := func() sysio.Identity {
		t.Helper()
		d, err := os.Open(filepath.Dir(f.Name()))
		if err != nil {
			t.Fatal(err)
		}
		defer d.Close()
		fsys, err := sysio.DirFilesystem(d)
		if err != nil {
			t.Fatal(err)
		}
		fi, err := os.Lstat(f.Name())
		if err != nil {
			t.Fatal(err)
		}
		id, ok := sysio.StatIdentity(fi, fsys)
		if !ok {
			t.Fatal("no identity")
		}
		return id
	}
	if _, ok := s.CurrentDigest(statID(), testBlock, 1); ok {
		t.Fatal("a digest without a record")
	}
	record(t, s, f)
	r, st := lookup(t, s, f)
	if st != Hit || !r.HasDigest {
		t.Fatalf("lookup: %v, digest %v", st, r.HasDigest)
	}
	id := statID()
	if d, ok := s.CurrentDigest(id, testBlock, 1); !ok || d != r.Digest {
		t.Fatalf("current record: %v %x, want %x", ok, d[:4], r.Digest[:4])
	}
	if _, ok := s.CurrentDigest(id, 2*testBlock, 1); ok {
		t.Error("a digest for another block size")
	}
	if _, ok := s.CurrentDigest(id, testBlock, 2); ok {
		t.Error("a digest for another method")
	}
	for sysio.CoarseNow() <= id.Ctime+int64(sysio.TimestampGranularity()) {
		runtime.Gosched() // past the tick, so that the write below moves ctime
	}
	scribble(t, f, 7)
	now := statID()
	if now.Size != id.Size || now.Mtime != id.Mtime {
		t.Fatalf("scribble changed size or mtime: %+v, was %+v", now, id)
	}
	if _, ok := s.CurrentDigest(now, testBlock, 1); ok {
		t.Error("a digest for a stale record (written, size and mtime restored)")
	}
	if _, ok := s.CurrentDigest(id, testBlock, 1); !ok {
		t.Error("the record was changed: CurrentDigest must leave a stale one for Lookup")
	}
}
