package filter

import (
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// rsyncTree is a tree of every kind of name the rule sets below tell
// apart (a trailing "/" makes a directory; "lnk" is a symlink to "foo").
var rsyncTree = []string{
	"foo/", "foo/bar", "foo/x/", "foo/x/bar", "foo/x/y/", "foo/x/y/bar", "foo/bar.c", "foo/baz.c",
	"x.o", "dir.o/", "dir.o/in", "a/", "a/x.o", "a/foo/", "a/foo/q/", "a/foo/q/bar", "a/b/", "a/b/c", "a/b/z",
	"a/b/c2/", "a/b/c2/z", "a/z", "ab/", "ab/c", "keep/", "keep/k1", "keep/sub/", "keep/sub/k2",
	"cache/", "cache/x.tmp", "cache/y", "d/", "d/cache/", "d/cache/z.tmp", "src/", "src/m.c", "src/m.h",
	"src/sub/", "src/sub/n.c", "1x", "q", "b.log", "we ird", "[x]", "aab", "aaxb", "e/", "bar",
}

// rsyncRuleSets are compared with rsync's own listing of rsyncTree.
var rsyncRuleSets = [][]string{
	{"- *.o"},
	{"- /foo"},
	{"- foo/"},
	{"- foo/*/bar"},
	{"- /foo/**/bar"},
	{"+ */", "+ *.c", "- *"},
	{"+ foo/", "+ foo/bar.c", "- *"},
	{"- **/bar"},
	{"- a/**/z"},
	{"- cache/***"},
	{"+ keep/***", "- *"},
	{"+ /keep/", "+ /keep/sub/", "+ /keep/sub/**", "- *"},
	{"- [ab]*", "+ [!x]?", "- ?"},
	{"- *a*a*b"},
	{"- b/c"},
	{"- [[:digit:]]*", "- [[:space:]]", "- *[[:space:]]*"},
	{"- **/cache/*.tmp"},
	{"- cache/**"},
	{`- \[x]`, "- we?ird"},
	{"+ */", "- **/c*"},
	{"- /a/*/", "- lnk/"},
	{"- /*/*/"},
}

// TestRsyncListing lists rsyncTree with rsync itself (a dry run into an
// empty directory prints every name it would transfer) and with a walk
// that asks the filter and does not descend into excluded directories,
// as the tree walker will, and compares the two sets of names.
func TestRsyncListing(t *testing.T) {
	rsync, err := exec.LookPath("rsync")
	if err != nil {
		t.Skip("rsync is not installed (apt-get install rsync, or `make bench-rsync` as root): " +
			"the table tests and the fuzz target still hold the rules to a model of rsync's source")
	}
	src := t.TempDir()
	for _, name := range rsyncTree {
		p := filepath.Join(src, name)
		var err error
		if strings.HasSuffix(name, "/") {
			err = os.Mkdir(p, 0o755)
		} else {
			err = os.WriteFile(p, []byte(name), 0o644)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink("foo", filepath.Join(src, "lnk")); err != nil {
		t.Fatal(err)
	}
	for _, set := range rsyncRuleSets {
		rs := rules(t, set...)
		args := []string{"-n", "-a", "--out-format=%n"}
		for _, r := range rs {
			flag := "--exclude="
			if r.Include {
				flag = "--include="
			}
			args = append(args, flag+r.Pattern)
		}
		out, err := exec.Command(rsync, append(args, src+"/", filepath.Join(t.TempDir(), "dst")+"/")...).Output()
		if err != nil {
			t.Fatalf("rsync %q: %v", args, err)
		}
		var want []string
		for _, l := range strings.Split(strings.TrimSuffix(string(out), "\n"), "\n") {
			if l != "./" && l != "" {
				want = append(want, strings.TrimSuffix(l, "/"))
			}
		}
		flt, err := New(rs)
		if err != nil {
			t.Fatal(err)
		}
		got := walk(t, src, flt)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("rules %q:\n ours:  %q\n rsync: %q", set, got, want)
		}
	}
}

// walk lists the entries under root the filter keeps, pruning excluded
// directories.
func walk(t *testing.T, root string, flt *Filter) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == root {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		if flt.Excluded(filepath.ToSlash(rel), d.IsDir()) {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		out = append(out, filepath.ToSlash(rel))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(out)
	return out
}
