package tree

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/pdiffagent/pdiffagent/sysio/sysiotest"
)

// lowThreshold sets the sort threshold to n for the test.
func lowThreshold(t *testing.T, n int) {
	old := SetSortThreshold(n)
	t.Cleanup(func() { SetSortThreshold(old) })
}

// manyNames makes count empty files in dir, odd names among them, and
// returns their names.
func manyNames(t *testing.T, dir string, count int) []string {
	t.Helper()
	odd := []string{"new\nline", "bad\xff\xfeutf8", " lead", "-dash", strings.Repeat("n", 255), "Z", "é"}
	var names []string
	for i := range count {
		n := fmt.Sprintf("f%05d", (i*7919)%count) // not created in order
		if i < len(odd) {
			n = odd[i]
		}
		names = append(names, n)
		f, err := os.Create(filepath.Join(dir, n))
		if err != nil {
			t.Fatal(err)
		}
		f.Close()
	}
	slices.Sort(names)
	return names
}

// readAll lists dir with ReadNames.
func readAll(t *testing.T, dir string) ([]string, *Names) {
	t.Helper()
	f, err := os.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	n, err := ReadNames(f)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for {
		s, ok := n.Next()
		if !ok {
			break
		}
		got = append(got, s)
	}
	if err := n.Err(); err != nil {
		t.Fatal(err)
	}
	if err := n.Close(); err != nil {
		t.Fatal(err)
	}
	return got, n
}

// TestReadNamesBounded: a directory of more names than the threshold is
// sorted in runs of at most that many, spilled and merged, and comes out
// sorted and whole (odd names too), with at most the threshold's names in
// memory at once; one that fits is sorted in memory; the spill leaves no
// file behind.
func TestReadNamesBounded(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	dir := t.TempDir()
	want := manyNames(t, dir, 3000)
	for _, c := range []struct{ threshold, runs int }{{100, 30}, {128, 24}, {2999, 2}, {3000, 1}, {3001, 0}} {
		lowThreshold(t, c.threshold)
		got, n := readAll(t, dir)
		if !slices.Equal(got, want) {
			t.Fatalf("threshold %d: %d names, not the %d sorted", c.threshold, len(got), len(want))
		}
		if n.Runs() != c.runs || n.held > c.threshold {
			t.Errorf("threshold %d: %d runs, %d names held at once; want %d runs, at most %d held", c.threshold, n.Runs(), n.held, c.runs, c.threshold)
		}
	}
	if left, _ := os.ReadDir(tmp); len(left) != 0 {
		t.Errorf("the spill left %d files in TMPDIR", len(left))
	}
}

// TestSyncLargeDirectory: a directory larger than the threshold on both
// sides (the target holding other names too, deleted) syncs as any other.
func TestSyncLargeDirectory(t *testing.T) {
	lowThreshold(t, 64)
	src, dst := t.TempDir(), t.TempDir()
	os.Mkdir(filepath.Join(src, "big"), 0o755)
	names := manyNames(t, filepath.Join(src, "big"), 2000)
	sysiotest.MakeTree(t, src, sysiotest.TreeSpec{Seed: 6, Files: 100, MaxSize: 4096, Dirs: 3, Depth: 2, Symlinks: 3})
	os.Mkdir(filepath.Join(dst, "big"), 0o755)
	extra := 0
	for i := range 300 {
		n := fmt.Sprintf("f%05d%s", i*5, []string{"", "x"}[i%2])
		sysiotest.WriteFile(t, filepath.Join(dst, "big", n), []byte("old"))
		if !slices.Contains(names, n) {
			extra++
		}
	}
	opt := testOptions()
	opt.Delete = true
	st := syncTree(t, src, dst, opt)
	sysiotest.TreeEqual(t, src, dst, sysiotest.TreeOptions{})
	if st.Files != 2100 || st.Deleted != int64(extra) {
		t.Errorf("%+v: want 2100 files, the %d extra names deleted", st, extra)
	}
	if st := syncTree(t, src, dst, opt); st.FilesSkipped != 2100 || st.FilesChanged != 0 {
		t.Errorf("rerun: %+v, want all skipped", st)
	}
}

// TestListingStopsOnError: a listing that fails part way stops its
// directory there (reported) and never lets Delete take the rest of the
// target for entries the source lacks.
func TestListingStopsOnError(t *testing.T) {
	src, dst := t.TempDir(), t.TempDir()
	for _, n := range []string{"a", "b", "c", "d"} {
		sysiotest.WriteFile(t, filepath.Join(src, n), []byte(n))
		sysiotest.WriteFile(t, filepath.Join(dst, n), []byte("old "+n))
	}
	failing := &failingSource{Source: LocalSource(), after: 2}
	opt := testOptions()
	opt.Delete = true
	_, err := SyncTo(context.Background(), failing, src, &localTarget{}, dst, "", opt)
	if err == nil || !strings.Contains(err.Error(), "1 failed") {
		t.Fatalf("err %v: want the directory reported", err)
	}
	for _, n := range []string{"c", "d"} {
		if b := sysiotest.ReadFile(t, filepath.Join(dst, n)); string(b) != "old "+n {
			t.Errorf("%s: %q; the failed listing's rest was touched", n, b)
		}
	}
}

// failingSource's listings fail after their first entries.
type failingSource struct {
	Source
	after int
}

func (f *failingSource) List(dir string) (Listing, error) {
	l, err := f.Source.List(dir)
	return &failingListing{Listing: l, left: f.after}, err
}

type failingListing struct {
	Listing
	left int
}

func (l *failingListing) Next() (Dirent, bool) {
	if l.left == 0 {
		return Dirent{}, false
	}
	l.left--
	return l.Listing.Next()
}

func (l *failingListing) Err() error {
	if l.left == 0 {
		return fmt.Errorf("listing broke")
	}
	return nil
}

// TestDirentBuffer: a listing received whole is held in memory up to the
// threshold and on disk past it, each field (a record digest too) read
// back as written; names
// out of order, twice, or that are no plain names are refused.
func TestDirentBuffer(t *testing.T) {
	for _, threshold := range []int{1000, 10} {
		lowThreshold(t, threshold)
		var b DirentBuffer
		var want []Dirent
		for i := range 100 {
			d := Dirent{Name: fmt.Sprintf("n%03d\n\xff", i), Link: strings.Repeat("l", i), Entry: Entry{Kind: Kind(i%5 + 1),
				Mode: 0o755 | os.ModeSetuid, Size: int64(i) << 40, ModTime: -int64(i) * 1e9, Uid: uint32(i), Gid: 1 << 31,
				Nlink: uint64(i), Dev: ^uint64(0), Ino: uint64(i) << 50, Rdev: 7}}
			if i%3 == 0 { // a server's record digest (wire.CapTreeRecords)
				d.Record = &RecordDigest{0: byte(i), 31: 0xff}
			}
			if err := b.Add(d); err != nil {
				t.Fatal(err)
			}
			want = append(want, d)
		}
		if (b.spill != nil) != (threshold < 100) || len(b.mem) > threshold {
			t.Errorf("threshold %d: spilled %v, %d in memory", threshold, b.spill != nil, len(b.mem))
		}
		l, err := b.Listing()
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; ; i++ {
			d, ok := l.Next()
			if !ok {
				if i != len(want) || l.Err() != nil {
					t.Fatalf("threshold %d: %d entries read back, %v", threshold, i, l.Err())
				}
				break
			}
			if !reflect.DeepEqual(d, want[i]) {
				t.Fatalf("threshold %d: entry %d read back %+v, want %+v", threshold, i, d, want[i])
			}
		}
		l.Close()
	}
	for _, names := range [][]string{{"b", "a"}, {"a", "a"}, {""}, {"."}, {".."}, {"a/b"}, {"../x"}, {"x\x00"}} {
		var b DirentBuffer
		var err error
		for _, n := range names {
			if err = b.Add(Dirent{Name: n}); err != nil {
				break
			}
		}
		b.Close()
		if err == nil {
			t.Errorf("listing %q: accepted", names)
		}
	}
}
