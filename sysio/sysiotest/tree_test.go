package sysiotest

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pdiffagent/pdiffagent/sysio/sysiotest/treediff"
)

var richSpec = TreeSpec{Seed: 7, Files: 40, MinSize: 0, MaxSize: 70_000, Dirs: 8, Depth: 5, EmptyDirs: 2,
	Symlinks: 8, HardLinks: 3, Sparse: 1, Modes: true, OddNames: true}

// twoTrees makes the same tree twice.
func twoTrees(t *testing.T, spec TreeSpec) (a, b string, tr *Tree) {
	a, b = t.TempDir(), t.TempDir()
	tr = MakeTree(t, a, spec)
	trB := MakeTree(t, b, spec)
	if !slices.Equal(tr.Files, trB.Files) || !slices.Equal(tr.Dirs, trB.Dirs) || !slices.Equal(tr.Symlinks, trB.Symlinks) {
		t.Fatalf("the same spec listed different trees:\n%v\n%v", tr, trB)
	}
	return a, b, tr
}

func TestMakeTreeDeterministic(t *testing.T) {
	a, b, tr := twoTrees(t, richSpec)
	if diffs, err := TreeDiff(a, b, TreeOptions{}); err != nil || len(diffs) > 0 {
		t.Fatalf("the same spec made different trees: %v %q", err, diffs)
	}
	if len(tr.Files) != 40+1+3 || len(tr.Dirs) != 8+2 || len(tr.Symlinks) != 8 || len(tr.HardLinks) != 3 || len(tr.Sparse) != 1 {
		t.Fatalf("made %d files, %d dirs, %d symlinks, %d hard links, %d sparse", len(tr.Files), len(tr.Dirs),
			len(tr.Symlinks), len(tr.HardLinks), len(tr.Sparse))
	}
	deepest := 0
	for _, d := range tr.Dirs {
		deepest = max(deepest, strings.Count(d, "/")+1)
	}
	if deepest != 5 {
		t.Errorf("deepest directory at depth %d, want 5", deepest)
	}
	for _, name := range []string{"new\nline", "bad\xffutf8", "odd dir", strings.Repeat("n", 255)} {
		if !slices.ContainsFunc(append(tr.Files, tr.Dirs...), func(p string) bool { return filepath.Base(p) == name }) {
			t.Errorf("no entry named %q", name)
		}
	}
	fi, err := os.Stat(filepath.Join(a, tr.Sparse[0]))
	if err != nil {
		t.Fatal(err)
	}
	if blocks := allocated(fi); blocks >= 0 && blocks >= fi.Size() {
		t.Errorf("sparse file of %d bytes has %d allocated", fi.Size(), blocks)
	}
	c := t.TempDir()
	MakeTree(t, c, TreeSpec{Seed: 8, Files: 40, MaxSize: 70_000, Dirs: 8, Depth: 5})
	if diffs, _ := TreeDiff(a, c, TreeOptions{}); len(diffs) == 0 {
		t.Error("another seed made the same tree")
	}
}

// TestTreeDiffFinds changes one thing at a time in a copy and checks that
// TreeDiff names it, and nothing else.
func TestTreeDiffFinds(t *testing.T) {
	spec := TreeSpec{Seed: 3, Files: 12, MinSize: 1, MaxSize: 3000, Dirs: 3, Depth: 2, EmptyDirs: 1, Symlinks: 4, HardLinks: 2}
	setTimes := func(p string, fi os.FileInfo) {
		if err := lchtimes(p, fi.ModTime()); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		name   string
		change func(t *testing.T, b string, tr *Tree) string // returns the path it changed
		want   string
		opts   TreeOptions
	}{
		{"one byte", func(t *testing.T, b string, tr *Tree) string {
			p := filepath.Join(b, tr.Files[0])
			fi, _ := os.Lstat(p)
			data := ReadFile(t, p)
			data[len(data)-1] ^= 1
			WriteFile(t, p, data)
			setTimes(p, fi)
			return tr.Files[0]
		}, "content differs from byte", TreeOptions{IgnoreModes: true}},
		{"mode", func(t *testing.T, b string, tr *Tree) string {
			return tr.Files[1] + chmod(t, filepath.Join(b, tr.Files[1]), 0o600)
		}, "mode -rw-------, want ", TreeOptions{}},
		{"dir mtime by 1ns", func(t *testing.T, b string, tr *Tree) string {
			p := filepath.Join(b, tr.Dirs[0])
			fi, _ := os.Lstat(p)
			if err := os.Chtimes(p, fi.ModTime(), fi.ModTime().Add(time.Nanosecond)); err != nil {
				t.Fatal(err)
			}
			return tr.Dirs[0]
		}, "mtime", TreeOptions{}},
		{"symlink's own mtime", func(t *testing.T, b string, tr *Tree) string {
			p := filepath.Join(b, tr.Symlinks[0])
			if err := lchtimes(p, treeEpoch); err != nil {
				t.Fatal(err)
			}
			return tr.Symlinks[0]
		}, "mtime", TreeOptions{}},
		{"symlink target", func(t *testing.T, b string, tr *Tree) string {
			p := filepath.Join(b, tr.Symlinks[1])
			fi, _ := os.Lstat(p)
			os.Remove(p)
			if err := os.Symlink("elsewhere", p); err != nil {
				t.Fatal(err)
			}
			setTimes(p, fi)
			return tr.Symlinks[1]
		}, `symlink to "elsewhere"`, TreeOptions{}},
		{"missing", func(t *testing.T, b string, tr *Tree) string {
			os.Remove(filepath.Join(b, tr.Files[2]))
			return tr.Files[2]
		}, "missing (a file)", TreeOptions{IgnoreMtimes: true}},
		{"extra empty dir", func(t *testing.T, b string, tr *Tree) string {
			os.Mkdir(filepath.Join(b, "surplus"), 0o755)
			return "surplus"
		}, "extra (a directory)", TreeOptions{IgnoreMtimes: true}},
		{"file became a directory", func(t *testing.T, b string, tr *Tree) string {
			p := filepath.Join(b, tr.Files[3])
			os.Remove(p)
			os.Mkdir(p, 0o755)
			return tr.Files[3]
		}, "a directory, want a file", TreeOptions{IgnoreMtimes: true}},
		{"hard link broken", func(t *testing.T, b string, tr *Tree) string {
			p := filepath.Join(b, tr.HardLinks[0])
			fi, _ := os.Lstat(p)
			data := ReadFile(t, p)
			os.Remove(p)
			WriteFile(t, p, data)
			os.Chmod(p, fi.Mode())
			setTimes(p, fi)
			return "" // reported at the group's first name
		}, "hard links [", TreeOptions{}},
		{"excluded change is ignored", func(t *testing.T, b string, tr *Tree) string {
			os.Mkdir(filepath.Join(b, "skipme"), 0o755)
			WriteFile(t, filepath.Join(b, "skipme", "x"), nil)
			return ""
		}, "", TreeOptions{IgnoreMtimes: true, Exclude: func(rel string, _ bool) bool { return rel == "skipme" }}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, b, tr := twoTrees(t, spec)
			tr.Files = singles(t, a, tr.Files) // a change to one name only
			where := tc.change(t, b, tr)
			if i := strings.IndexByte(where, ' '); i >= 0 {
				where = where[:i]
			}
			diffs, err := TreeDiff(a, b, tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			if tc.want == "" {
				if len(diffs) > 0 {
					t.Fatalf("want no differences, got %q", diffs)
				}
				return
			}
			var hit []string
			for _, d := range diffs {
				if strings.Contains(d, tc.want) && strings.HasPrefix(d, where) {
					hit = append(hit, d)
				}
			}
			// The change itself moves the mtime of its directory, which the
			// cases comparing mtimes set back... except a parent's: allow it.
			other := slices.DeleteFunc(slices.Clone(diffs), func(d string) bool {
				return slices.Contains(hit, d) || strings.Contains(d, ": mtime ")
			})
			if len(hit) != 1 || len(other) > 0 {
				t.Fatalf("want one difference %q at %q, got %q", tc.want, where, diffs)
			}
		})
	}
}

// singles are the files of root with one name.
func singles(t *testing.T, root string, files []string) []string {
	var out []string
	for _, f := range files {
		fi, err := os.Lstat(filepath.Join(root, f))
		if err != nil {
			t.Fatal(err)
		}
		if _, _, _, _, n := treediff.StatIDs(fi); n == 1 {
			out = append(out, f)
		}
	}
	return out
}

func chmod(t *testing.T, p string, mode os.FileMode) string {
	if err := os.Chmod(p, mode); err != nil {
		t.Fatal(err)
	}
	return ""
}

func TestTreeEqualOwners(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("giving a file away needs root (CI runs make test as root)")
	}
	a, b, tr := twoTrees(t, TreeSpec{Seed: 4, Files: 3, MaxSize: 10})
	p := filepath.Join(b, tr.Files[0])
	if err := os.Lchown(p, 1234, 5678); err != nil {
		t.Fatal(err)
	}
	if diffs, _ := TreeDiff(a, b, TreeOptions{}); len(diffs) > 0 {
		t.Fatalf("owners compared without Owners: %q", diffs)
	}
	diffs, _ := TreeDiff(a, b, TreeOptions{Owners: true})
	if len(diffs) != 1 || !strings.Contains(diffs[0], "owner 1234:5678, want 0:0") {
		t.Fatalf("want the owner difference, got %q", diffs)
	}
}

// TestTenThousandFiles makes a tree of 10,000 tiny files and compares it
// with itself, as tree tests will (issue 16): it logs how long each took,
// never asserts it.
func TestTenThousandFiles(t *testing.T) {
	a := t.TempDir()
	start := time.Now()
	tr := MakeTree(t, a, TreeSpec{Seed: 9, Files: 10_000, MaxSize: 100, Dirs: 100, Depth: 4})
	made := time.Since(start)
	if len(tr.Files) != 10_000 {
		t.Fatalf("made %d files", len(tr.Files))
	}
	start = time.Now()
	if TreeEqual(t, a, a, TreeOptions{}) {
		t.Logf("made 10,000 files in %v, compared them in %v", made, time.Since(start))
	}
}
