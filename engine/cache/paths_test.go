package cache

import (
	"fmt"
	"os"
	"testing"
)

// indexed lists the path index as Paths walks it.
func indexed(t *testing.T, s *Store) map[string]PathEntry {
	t.Helper()
	got := map[string]PathEntry{}
	err := s.Paths(func(e PathEntry) error {
		if _, dup := got[e.key]; dup {
			t.Errorf("entry %s walked twice", e.key)
		}
		got[e.key] = e
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// TestPathIndex: NotePath indexes only a file that has a record, keeps an
// entry that says the same thing as it is, replaces one that names another
// path; Names tells the record's file from another; ForgetPath removes it.
func TestPathIndex(t *testing.T) {
	s := newStore(t, Options{})
	f, g := newFile(t, 3*testBlock, 1), newFile(t, 2*testBlock, 2)
	if err := s.NotePath(f, "/srv/a"); err != nil || len(indexed(t, s)) != 0 {
		t.Fatalf("a file without a record was indexed (%v)", err)
	}
	record(t, s, f)
	if err := s.NotePath(f, "/srv/a"); err != nil {
		t.Fatal(err)
	}
	idf, _ := f.Identity()
	idg, _ := g.Identity()
	ents := indexed(t, s)
	e, ok := ents[key(idf)]
	if len(ents) != 1 || !ok || e.Path != "/srv/a" || !e.Names(idf) || e.Names(idg) {
		t.Fatalf("index %+v after noting /srv/a", ents)
	}
	p := s.path(pathPrefix + key(idf))
	before, _ := os.Stat(p)
	s.NotePath(f, "/srv/a")
	if after, _ := os.Stat(p); !os.SameFile(before, after) {
		t.Errorf("an entry that said the same was written again")
	}
	s.NotePath(f, "/srv/b")
	if e := indexed(t, s)[key(idf)]; e.Path != "/srv/b" {
		t.Errorf("entry %+v after a rename to /srv/b", e)
	}
	if err := s.ForgetPath(e); err != nil || len(indexed(t, s)) != 0 {
		t.Errorf("ForgetPath: %v, index %v", err, indexed(t, s))
	}
	if err := s.ForgetPath(e); err != nil {
		t.Errorf("ForgetPath of a forgotten entry: %v", err)
	}
}

// TestPathIndexWalk: Paths visits every entry once across many directory
// batches, removes torn or corrupt entries, and stops at fn's error.
func TestPathIndexWalk(t *testing.T) {
	s := newStore(t, Options{})
	const n = 3*pathBatch + 7
	for i := range n {
		if err := os.WriteFile(s.path(fmt.Sprintf("p-r-1-%x", i)), encodePath(fmt.Sprintf("/srv/%d", i)), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	torn := encodePath("/srv/torn")
	os.WriteFile(s.path("p-r-2-0"), torn[:len(torn)-1], 0o600)
	bad := encodePath("/srv/bad")
	bad[len(bad)-1] ^= 1
	os.WriteFile(s.path("p-r-2-1"), bad, 0o600)
	os.WriteFile(s.path("p-r-2-2"), append(encodePath("/x"), make([]byte, maxIndexPath)...), 0o600)
	got := indexed(t, s)
	if len(got) != n {
		t.Fatalf("walked %d entries, want %d", len(got), n)
	}
	for i := range n {
		if e := got[fmt.Sprintf("r-1-%x", i)]; e.Path != fmt.Sprintf("/srv/%d", i) {
			t.Fatalf("entry %d: %+v", i, e)
		}
	}
	for _, k := range []string{"p-r-2-0", "p-r-2-1", "p-r-2-2"} {
		if _, err := os.Stat(s.path(k)); !os.IsNotExist(err) {
			t.Errorf("corrupt entry %s kept: %v", k, err)
		}
	}
	stop := fmt.Errorf("stop")
	calls := 0
	if err := s.Paths(func(PathEntry) error { calls++; return stop }); err != stop || calls != 1 {
		t.Errorf("Paths after fn's error: %v, %d calls", err, calls)
	}
}

// TestPathIndexEvicted: eviction removes a record's path entry with it,
// and entries whose record is gone.
func TestPathIndexEvicted(t *testing.T) {
	s := newStore(t, Options{MaxBytes: 1})
	f, g := newFile(t, 3*testBlock, 1), newFile(t, 2*testBlock, 2)
	record(t, s, f)
	s.NotePath(f, "/srv/f")
	os.WriteFile(s.path("p-r-9-9"), encodePath("/srv/gone"), 0o600)
	record(t, s, g) // evicts f's record (the bound is one byte), never g's
	s.NotePath(g, "/srv/g")
	idg, _ := g.Identity()
	if got := indexed(t, s); len(got) != 1 || got[key(idg)].Path != "/srv/g" {
		t.Errorf("index after eviction: %+v", got)
	}
}
