package tree

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pdiffagent/pdiffagent/engine"
	"github.com/pdiffagent/pdiffagent/engine/tree/filter"
	"github.com/pdiffagent/pdiffagent/sysio/sysiotest"
)

// testOptions are small blocks (so that files of a few KiB have several)
// and a few workers.
func testOptions() Options {
	return Options{Session: engine.Session{BlockSize: 4096, Workers: 3}, HardLinks: true}
}

func syncTree(t *testing.T, src, dst string, opt Options) Stats {
	t.Helper()
	st, err := Sync(context.Background(), src, dst, "", opt)
	if err != nil {
		t.Fatalf("Sync: %v (failed: %v)", err, st.Failed)
	}
	return st
}

// TestSyncTree: a tree with every kind of entry, synced, changed (new,
// changed, deleted, renamed files; a file turned into a directory and
// back), synced again with --delete, and rerun: identical each time, and
// the rerun only stats.
func TestSyncTree(t *testing.T) {
	src, dst := t.TempDir(), filepath.Join(t.TempDir(), "dst")
	tr := sysiotest.MakeTree(t, src, sysiotest.TreeSpec{Seed: 1, Files: 120, MaxSize: 40 << 10, Dirs: 15, Depth: 12,
		EmptyDirs: 3, Symlinks: 8, HardLinks: 4, Sparse: 2, Modes: true, OddNames: true})
	dry := testOptions()
	dry.Session.DryRun = true
	if st := syncTree(t, src, dst, dry); st.FilesChanged+st.HardLinks != int64(len(tr.Files)) {
		t.Errorf("dry run into a missing target: %+v, want every file new", st)
	}
	if _, err := os.Lstat(dst); !os.IsNotExist(err) {
		t.Fatalf("the dry run made the target: %v", err)
	}
	st := syncTree(t, src, dst, testOptions())
	sysiotest.TreeEqual(t, src, dst, sysiotest.TreeOptions{})
	if st.Files != int64(len(tr.Files)) || st.FilesChanged+st.HardLinks != st.Files || st.Symlinks != 8 {
		t.Errorf("first sync: %+v, want %d files all changed (hard links counted apart), 8 symlinks", st, len(tr.Files))
	}

	// Change the source: rewrite one file in place (same size), grow one,
	// delete one, rename one, add one, turn a file into a directory.
	plain := slices.DeleteFunc(slices.Clone(tr.Files), func(f string) bool {
		return slices.Contains(tr.HardLinks, f) || slices.Contains(tr.Sparse, f) || strings.ContainsAny(f, "\n\xff ")
	})
	p := func(rel string) string { return filepath.Join(src, filepath.FromSlash(rel)) }
	b := sysiotest.ReadFile(t, p(plain[0]))
	b[len(b)/2] ^= 0xff
	later := time.Now().Add(time.Hour)
	sysiotest.WriteFile(t, p(plain[0]), b)
	os.Chtimes(p(plain[0]), later, later)
	f, _ := os.OpenFile(p(plain[1]), os.O_APPEND|os.O_WRONLY, 0)
	f.Write([]byte("more"))
	f.Close()
	os.Remove(p(plain[2]))
	os.Rename(p(plain[3]), p(plain[3])+".renamed")
	sysiotest.WriteFile(t, p("new-file"), []byte("new"))
	os.Remove(p(plain[4]))
	os.MkdirAll(p(plain[4])+"/sub", 0o755)
	sysiotest.WriteFile(t, p(plain[4])+"/sub/x", []byte("x"))

	opt := testOptions()
	opt.Delete = true
	st = syncTree(t, src, dst, opt)
	sysiotest.TreeEqual(t, src, dst, sysiotest.TreeOptions{})
	if st.Deleted < 2 || st.FilesChanged < 4 {
		t.Errorf("second sync: %+v, want at least 2 deleted, 4 changed", st)
	}

	st = syncTree(t, src, dst, opt)
	if st.FilesChanged != 0 || st.FilesVerified != 0 || st.Deleted != 0 || st.FilesSkipped+st.HardLinks != st.Files {
		t.Errorf("rerun: %+v, want every file skipped by the quick check", st)
	}
	opt.ChecksumAll = true
	st = syncTree(t, src, dst, opt)
	if st.FilesChanged != 0 || st.FilesSkipped != 0 || st.FilesVerified+st.HardLinks != st.Files {
		t.Errorf("rerun with ChecksumAll: %+v, want every file verified", st)
	}
	sysiotest.TreeEqual(t, src, dst, sysiotest.TreeOptions{})
}

// TestSameSizeSameMtime: the quick check trusts size and mtime (as rsync
// does); ChecksumAll does not.
func TestSameSizeSameMtime(t *testing.T) {
	src, dst := t.TempDir(), t.TempDir()
	sysiotest.WriteFile(t, filepath.Join(src, "f"), []byte("aaaa"))
	syncTree(t, src, dst, testOptions())
	fi, _ := os.Stat(filepath.Join(src, "f"))
	sysiotest.WriteFile(t, filepath.Join(src, "f"), []byte("bbbb"))
	os.Chtimes(filepath.Join(src, "f"), fi.ModTime(), fi.ModTime())
	if st := syncTree(t, src, dst, testOptions()); st.FilesSkipped != 1 {
		t.Fatalf("%+v: want the file skipped", st)
	}
	opt := testOptions()
	opt.ChecksumAll = true
	if st := syncTree(t, src, dst, opt); st.FilesChanged != 1 {
		t.Fatalf("%+v: want the file changed", st)
	}
	sysiotest.TreeEqual(t, src, dst, sysiotest.TreeOptions{})
}

// TestResolve: rsync's trailing-slash rule.
func TestResolve(t *testing.T) {
	for _, c := range []struct{ src, dst, wantSrc, wantDst, prefix string }{
		{"a/src/", "d", "a/src/", "d", ""},
		{"a/src", "d", "a/src", "d/src", "src/"},
		{".", "d", ".", "d", ""},
	} {
		s, d, p := Resolve(c.src, c.dst)
		if s != c.wantSrc || d != c.wantDst || p != c.prefix {
			t.Errorf("Resolve(%q, %q) = %q, %q, %q; want %q, %q, %q", c.src, c.dst, s, d, p, c.wantSrc, c.wantDst, c.prefix)
		}
	}
}

// TestDelete: extra target entries (a file, a directory tree, a symlink
// to a directory outside the target, whose contents must survive) are
// listed by a dry run and kept, then deleted; excluded ones are kept
// unless DeleteExcluded.
func TestDelete(t *testing.T) {
	src, dst, outside := t.TempDir(), t.TempDir(), t.TempDir()
	sysiotest.WriteFile(t, filepath.Join(src, "keep"), []byte("k"))
	sysiotest.WriteFile(t, filepath.Join(outside, "precious"), []byte("p"))
	os.MkdirAll(filepath.Join(dst, "old/deep"), 0o755)
	sysiotest.WriteFile(t, filepath.Join(dst, "old/deep/x"), []byte("x"))
	sysiotest.WriteFile(t, filepath.Join(dst, "extra"), []byte("e"))
	sysiotest.WriteFile(t, filepath.Join(dst, "x.log"), []byte("l"))
	os.Symlink(outside, filepath.Join(dst, "escape"))

	flt, err := filter.New([]filter.Rule{{Pattern: "*.log"}})
	if err != nil {
		t.Fatal(err)
	}
	opt := testOptions()
	opt.Delete, opt.Filter = true, flt
	opt.Session.DryRun = true
	var listed []string
	opt.Deleted = func(rel string) { listed = append(listed, rel) }
	syncTree(t, src, dst, opt)
	if want := []string{"escape", "extra", "old"}; !slices.Equal(listed, want) {
		t.Errorf("dry run listed %q, want %q", listed, want)
	}
	if _, err := os.Stat(filepath.Join(dst, "old/deep/x")); err != nil {
		t.Errorf("dry run deleted: %v", err)
	}
	opt.Session.DryRun, listed = false, nil
	syncTree(t, src, dst, opt)
	sysiotest.TreeEqual(t, src, dst, sysiotest.TreeOptions{Exclude: flt.Excluded})
	if _, err := os.Stat(filepath.Join(dst, "x.log")); err != nil {
		t.Errorf("excluded x.log deleted: %v", err)
	}
	if _, err := os.Stat(filepath.Join(outside, "precious")); err != nil {
		t.Errorf("a file outside the target was deleted through a symlink: %v", err)
	}
	opt.DeleteExcluded = true
	syncTree(t, src, dst, opt)
	sysiotest.TreeEqual(t, src, dst, sysiotest.TreeOptions{})
}

// TestExclude: excluded files and directories are not copied, with the
// prefix of a source named without a trailing slash in front of paths.
func TestExclude(t *testing.T) {
	base, dst := t.TempDir(), t.TempDir()
	src := filepath.Join(base, "src")
	os.MkdirAll(filepath.Join(src, "cache/sub"), 0o755)
	os.MkdirAll(filepath.Join(src, "data"), 0o755)
	for _, f := range []string{"cache/sub/a", "data/a.db", "data/a.tmp", "top.tmp"} {
		sysiotest.WriteFile(t, filepath.Join(src, f), []byte(f))
	}
	flt, err := filter.New([]filter.Rule{{Pattern: "/src/cache/"}, {Pattern: "*.tmp"}})
	if err != nil {
		t.Fatal(err)
	}
	opt := testOptions()
	opt.Filter = flt
	s, d, prefix := Resolve(src, dst)
	if err := os.Mkdir(d, 0o755); err != nil {
		t.Fatal(err)
	}
	st, err := Sync(context.Background(), s, d, prefix, opt)
	if err != nil {
		t.Fatal(err)
	}
	got := sysiotest.ListDir(t, filepath.Join(dst, "src"), nil)
	if !slices.Equal(got, []string{"data"}) || st.Excluded != 3 {
		t.Errorf("target holds %q, %d excluded; want only data, 3 excluded", got, st.Excluded)
	}
	sysiotest.TreeEqual(t, src, filepath.Join(dst, "src"), sysiotest.TreeOptions{IgnoreRoot: true,
		Exclude: func(rel string, dir bool) bool { return flt.Excluded("src/"+rel, dir) }})
}

// TestTenThousandFiles: many tiny files keep every worker busy and the
// result is identical; the rerun only stats.
func TestTenThousandFiles(t *testing.T) {
	n := 10000
	if testing.Short() || raceEnabled {
		n = 2000
	}
	src, dst := t.TempDir(), t.TempDir()
	sysiotest.MakeTree(t, src, sysiotest.TreeSpec{Seed: 2, Files: n, MaxSize: 100, Dirs: 50, Depth: 3})
	opt := testOptions()
	opt.Session.Workers = 4
	start := time.Now()
	st := syncTree(t, src, dst, opt)
	t.Logf("%d files in %v", n, time.Since(start))
	sysiotest.TreeEqual(t, src, dst, sysiotest.TreeOptions{})
	if st.FilesChanged != int64(n) {
		t.Errorf("%+v: want %d files changed", st, n)
	}
	if st := syncTree(t, src, dst, opt); st.FilesSkipped != int64(n) {
		t.Errorf("rerun: %+v: want every file skipped", st)
	}
}
