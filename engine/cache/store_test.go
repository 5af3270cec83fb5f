package cache

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/pdiffagent/pdiffagent/sysio"
)

// TestTornOrCorruptRecordIgnored: a record cut short or with a flipped
// byte is never trusted, whichever part is hit.
func TestTornOrCorruptRecordIgnored(t *testing.T) {
	const blocks = 2*chunkBlocks + 3
	cases := []struct {
		name   string
		damage func(p string) error
		status Status // from Lookup
		chunk  int    // first chunk Range refuses; -1 none (Lookup refused)
	}{
		{"header truncated", func(p string) error { return os.Truncate(p, headerSize-1) }, Miss, -1},
		{"header byte", flip(30 + 8), Miss, -1},
		{"header crc", flip(headerCRCAt), Miss, -1},
		{"empty", func(p string) error { return os.Truncate(p, 0) }, Miss, -1},
		{"last chunk torn", func(p string) error { return os.Truncate(p, chunkOffset(2)+chunkHead+entrySize) }, Hit, 2},
		{"middle chunk entry", flip(chunkOffset(1) + chunkHead + 77), Hit, 1},
		{"middle chunk index", flip(chunkOffset(1) + 1), Hit, 1},
		{"first chunk crc", flip(chunkOffset(0) + 12), Hit, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := newStore(t, Options{})
			f := newFile(t, blocks*testBlock, 3)
			record(t, s, f)
			p := recordPath(t, s, f)
			if err := c.damage(p); err != nil {
				t.Fatal(err)
			}
			r, st := lookup(t, s, f)
			if st != c.status {
				t.Fatalf("status %v, want %v", st, c.status)
			}
			if c.chunk < 0 {
				if _, err := os.Stat(p); !errors.Is(err, os.ErrNotExist) {
					t.Fatalf("damaged record kept: %v", err)
				}
				return
			}
			var got uint64
			err := r.Range(0, blocks, func(first uint64, es []Entry) error {
				got = first + uint64(len(es))
				return nil
			})
			if !errors.Is(err, ErrCorrupt) || got != uint64(c.chunk)*chunkBlocks {
				t.Fatalf("Range: %v after %d blocks, want ErrCorrupt after %d", err, got, c.chunk*chunkBlocks)
			}
		})
	}
}

func flip(off int64) func(string) error {
	return func(p string) error {
		f, err := os.OpenFile(p, os.O_RDWR, 0)
		if err != nil {
			return err
		}
		defer f.Close()
		b := []byte{0}
		if _, err := f.ReadAt(b, off); err != nil {
			return err
		}
		b[0] ^= 0x10
		_, err = f.WriteAt(b, off)
		return err
	}
}

// TestChunkOfAnotherRecordRefused: chunks are bound to their record by
// the nonce, so a chunk copied from another record of the same shape
// (identical entries even) does not pass.
func TestChunkOfAnotherRecordRefused(t *testing.T) {
	s := newStore(t, Options{})
	f1, f2 := newFile(t, 4*testBlock, 4), newFile(t, 4*testBlock, 5)
	record(t, s, f1)
	record(t, s, f2)
	b2, err := os.ReadFile(recordPath(t, s, f2))
	if err != nil {
		t.Fatal(err)
	}
	b1, _ := os.ReadFile(recordPath(t, s, f1))
	copy(b1[headerSize:], b2[headerSize:])
	os.WriteFile(recordPath(t, s, f1), b1, 0o600)
	r, st := lookup(t, s, f1)
	if st != Hit {
		t.Fatal(st)
	}
	if err := r.Read(0, make([]Entry, 4)); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("spliced chunk: %v", err)
	}
}

// TestIdentityFieldMismatch: a record is trusted only if every identity
// field matches; changing any one of them in the record makes it stale.
func TestIdentityFieldMismatch(t *testing.T) {
	fields := map[string]func(*sysio.Identity){
		"dev":    func(id *sysio.Identity) { id.Dev++ },
		"ino":    func(id *sysio.Identity) { id.Ino++ },
		"size":   func(id *sysio.Identity) { id.Size += testBlock }, // block count stays consistent below
		"mtime":  func(id *sysio.Identity) { id.Mtime++ },
		"ctime":  func(id *sysio.Identity) { id.Ctime++ },
		"fstype": func(id *sysio.Identity) { id.FSType = sysio.FSXFS + sysio.FSExt4 - id.FSType },
		"device": func(id *sysio.Identity) { id.Device = true },
	}
	for name, change := range fields {
		t.Run(name, func(t *testing.T) {
			s := newStore(t, Options{})
			f := newFile(t, 8*testBlock, 6)
			record(t, s, f)
			p := recordPath(t, s, f)
			b, _ := os.ReadFile(p)
			h, err := decodeHeader(b)
			if err != nil {
				t.Fatal(err)
			}
			change(&h.Identity)
			h.Blocks = BlocksFor(h.Identity.Size, h.BlockSize)
			copy(b, h.encode())
			os.WriteFile(p, b, 0o600)
			if _, err := decodeHeader(b); err != nil {
				t.Fatal(err)
			}
			if _, st := lookup(t, s, f); st != Stale {
				t.Fatalf("record with another %s: %v", name, st)
			}
			if _, err := os.Stat(p); !errors.Is(err, os.ErrNotExist) {
				t.Fatal("stale record kept")
			}
		})
	}
}

// TestWriteRightAfterRecordSeen is both directions of the racy window, on
// the real clock, many times so that some land in the commit's tick: a
// lookup right after a commit hits, and a write right after a commit that
// restores mtime (dd conv=notrunc; touch -r) is seen through ctime.
func TestWriteRightAfterRecordSeen(t *testing.T) {
	s := newStore(t, Options{})
	f := newFile(t, 4*testBlock, 7)
	for i := range 20 {
		record(t, s, f)
		if _, st := lookup(t, s, f); st != Hit {
			t.Fatalf("round %d: lookup right after the commit: %v", i, st)
		}
		scribble(t, f, int64(i)*100)
		if _, st := lookup(t, s, f); st != Stale {
			t.Fatalf("round %d: a write right after the commit was not seen: %v", i, st)
		}
	}
}

func TestInvalidate(t *testing.T) {
	s := newStore(t, Options{})
	f := newFile(t, 4*testBlock, 8)
	record(t, s, f)
	if err := s.Invalidate(f); err != nil {
		t.Fatal(err)
	}
	if _, st := lookup(t, s, f); st != Miss {
		t.Fatalf("after Invalidate: %v", st)
	}
	if err := s.Invalidate(f); err != nil {
		t.Fatalf("Invalidate without a record: %v", err)
	}
}

// TestStaleRemovalDurable: Lookup's removal of a stale record is synced
// at once, so that Invalidate may skip the sync when there is nothing to
// remove; a crash then cannot bring a stale record back behind a write.
func TestStaleRemovalDurable(t *testing.T) {
	s := newStore(t, Options{})
	f := newFile(t, 4*testBlock, 9)
	syncs := 0
	testHookSyncDir = func() { syncs++ }
	t.Cleanup(func() { testHookSyncDir = nil })
	record(t, s, f)
	scribble(t, f, 0)
	before := syncs
	if _, st := lookup(t, s, f); st != Stale {
		t.Fatalf("lookup after a write: %v, want stale", st)
	}
	if syncs != before+1 {
		t.Fatalf("the stale record's removal synced the directory %d times, want 1", syncs-before)
	}
	before = syncs
	if err := s.Invalidate(f); err != nil {
		t.Fatal(err)
	}
	if syncs != before {
		t.Fatalf("Invalidate with no record synced the directory %d times, want 0", syncs-before)
	}
	record(t, s, f)
	before = syncs
	if err := s.Invalidate(f); err != nil {
		t.Fatal(err)
	}
	if syncs != before+1 {
		t.Fatalf("Invalidate of a record synced the directory %d times, want 1", syncs-before)
	}
}

func TestOffUntrusted(t *testing.T) {
	s := newStore(t, Options{})
	for _, ft := range []uint64{0x6969, 0x65735546, 0x794c7630, 0} { // NFS, FUSE, overlayfs, unknown
		if s.trusted(sysio.Identity{FSType: ft}) {
			t.Errorf("fs type %#x trusted", ft)
		}
	}
	for _, ft := range []uint64{sysio.FSExt4, sysio.FSXFS, sysio.FSBtrfs, sysio.FSZFS, sysio.FSTmpfs} {
		if !s.trusted(sysio.Identity{FSType: ft}) {
			t.Errorf("fs type %#x not trusted", ft)
		}
	}
	if s.trusted(sysio.Identity{Device: true}) {
		t.Error("device trusted without TrustDevice")
	}
}

// TestEvictionLeastRecentlyUsed: with room for two records, the third
// commit evicts the one used least recently, not the oldest made.
func TestEvictionLeastRecentlyUsed(t *testing.T) {
	const blocks = 3 * chunkBlocks
	size := chunkOffset(chunkCount(blocks))
	s := newStore(t, Options{MaxBytes: 2*size + size/2})
	a, b, c := newFile(t, blocks*testBlock, 10), newFile(t, blocks*testBlock, 11), newFile(t, blocks*testBlock, 12)
	record(t, s, a)
	record(t, s, b)
	// a made first but used since: b is the least recently used.
	old := time.Now().Add(-time.Hour)
	os.Chtimes(recordPath(t, s, a), old, old)
	os.Chtimes(recordPath(t, s, b), old.Add(-time.Minute), old.Add(-time.Minute))
	if _, st := lookup(t, s, a); st != Hit {
		t.Fatal(st)
	}
	record(t, s, c)
	if _, st := lookup(t, s, b); st != Miss {
		t.Fatalf("least recently used record kept: %v", st)
	}
	for _, f := range []*sysio.File{a, c} {
		if _, st := lookup(t, s, f); st != Hit {
			t.Fatalf("%s evicted: %v", f.Name(), st)
		}
	}
	// Leftovers of a crashed process go too, once old.
	tmp := filepath.Join(s.Dir(), "tmp-r-1-2-00")
	os.WriteFile(tmp, []byte("x"), 0o600)
	os.Chtimes(tmp, old.Add(-time.Hour), old.Add(-time.Hour))
	record(t, s, a)
	if _, err := os.Stat(tmp); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("old temporary file kept")
	}
}

func TestGroupCommit(t *testing.T) {
	s := newStore(t, Options{})
	g := s.Group()
	var files []*sysio.File
	for i := range 6 {
		f := newFile(t, (i+1)*testBlock, byte(20+i))
		w, err := s.Create(f, int64(i+1)*testBlock, testBlock, 1)
		if err != nil {
			t.Fatal(err)
		}
		w.Put(0, entries(0, uint64(i+1)))
		g.Add(w, f)
		files = append(files, f)
	}
	if err := g.Commit(); err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if _, st := lookup(t, s, f); st != Hit {
			t.Fatalf("%s: %v", f.Name(), st)
		}
	}
	ents, _ := os.ReadDir(s.Dir())
	if len(ents) != len(files) {
		t.Fatalf("%d files in the cache dir for %d records", len(ents), len(files))
	}
}

func TestOpenMakesDirPrivate(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "c")
	os.Mkdir(dir, 0o755)
	if _, err := Open(Options{Dir: dir}); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(dir); fi.Mode().Perm() != 0o700 {
		t.Fatalf("mode %v", fi.Mode())
	}
	if _, err := Open(Options{Dir: dir, MaxBytes: -1}); err == nil {
		t.Fatal("negative bound accepted")
	}
}

// TestExpectRefusesFileChangedWhileRead: a record started with Expect is
// not committed when the file was written after the expected identity.
func TestExpectRefusesFileChangedWhileRead(t *testing.T) {
	s := newStore(t, Options{})
	f := newFile(t, 4*testBlock, 13)
	id, err := Settle(f)
	if err != nil {
		t.Fatal(err)
	}
	w, _ := s.Create(f, 4*testBlock, testBlock, 1)
	w.Expect(id)
	w.Put(0, entries(0, 4))
	scribble(t, f, 10) // written while it was "read"
	if err := w.Commit(f); !errors.Is(err, ErrMismatch) {
		t.Fatalf("commit after a write: %v", err)
	}
	if _, st := lookup(t, s, f); st != Miss {
		t.Fatalf("record kept: %v", st)
	}
}
