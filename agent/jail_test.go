package agent

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pdiffagent/pdiffagent/wire"
)

func TestCleanRelPath(t *testing.T) {
	for in, want := range map[string]string{
		"a":         "a",
		"a/b":       "a/b",
		"./a//b/./": "a/b",
		"a/b..c":    "a/b..c",
		"..a":       "..a",
	} {
		if got, err := cleanRelPath(in); err != nil || got != want {
			t.Errorf("cleanRelPath(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"", ".", "./", "..", "../x", "a/../../x", "a/..", "/etc/passwd", "/", "a\x00b"} {
		if got, err := cleanRelPath(in); err == nil {
			t.Errorf("cleanRelPath(%q) = %q, want an error", in, got)
		}
	}
}

// jailCase is a path the jail must refuse, and a word its error must hold.
type jailCase struct {
	path string
	mode openMode
	code uint16
	want string
}

// jailFixture builds a root with a file, a subdirectory, a file outside,
// and symbolic links in and out.
func jailFixture(t *testing.T) (root, outside string) {
	t.Helper()
	base := t.TempDir()
	root = filepath.Join(base, "root")
	outside = filepath.Join(base, "secret")
	for _, d := range []string{root, filepath.Join(root, "sub")} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	writeFile(t, outside, []byte("secret"))
	writeFile(t, filepath.Join(root, "plain"), []byte("plain"))
	writeFile(t, filepath.Join(root, "sub", "f"), []byte("f"))
	links := map[string]string{
		"escape":         outside,         // absolute, out
		"escape-rel":     "../secret",     // relative, out
		"sub/escape-dir": "../..",         // a directory out
		"abs-inside":     root + "/plain", // absolute even if inside
		"inside":         "sub/f",         // stays inside: fine with openat2
		"subdir-link":    "sub",           // directory inside
	}
	for name, to := range links {
		if err := os.Symlink(to, filepath.Join(root, name)); err != nil {
			t.Fatal(err)
		}
	}
	return root, outside
}

func refusals(outsideName string) []jailCase {
	return []jailCase{
		{"escape", openRead, wire.CodeDenied, "outside"},
		{"escape-rel", openRead, wire.CodeDenied, "outside"},
		{"escape-rel", openCreate, wire.CodeDenied, "outside"},
		{"sub/escape-dir/" + outsideName, openRead, wire.CodeDenied, "outside"},
		{"abs-inside", openRead, wire.CodeDenied, "outside"},
		{"sub", openRead, wire.CodeDenied, "directory"},
		{"sub", openCreate, wire.CodeDenied, "directory"},
		{"missing", openRead, wire.CodeNotFound, "no such file"},
		{"nodir/new", openCreate, wire.CodeNotFound, "parent directory does not exist"},
		{"plain/x", openRead, wire.CodeNotFound, "not a directory"},
	}
}

func checkRefused(t *testing.T, j *jail, c jailCase, root string) {
	t.Helper()
	f, _, err := j.open(c.path, c.mode)
	if err == nil {
		f.Close()
		t.Errorf("open(%q, %d) succeeded", c.path, c.mode)
		return
	}
	var ce *codeError
	if !errors.As(err, &ce) || ce.code != c.code || !strings.Contains(err.Error(), c.want) {
		t.Errorf("open(%q, %d) = %v; want code %d mentioning %q", c.path, c.mode, err, c.code, c.want)
	}
	if strings.Contains(err.Error(), root) {
		t.Errorf("open(%q): error %q reveals the root", c.path, err)
	}
}

func TestJail(t *testing.T) {
	root, outside := jailFixture(t)
	j, err := newJail(root, false)
	if err != nil {
		t.Fatal(err)
	}
	defer j.close()
	for _, c := range refusals(filepath.Base(outside)) {
		checkRefused(t, j, c, root)
	}
	for _, p := range []string{"plain", "sub/f", "inside", "subdir-link/f"} {
		f, _, err := j.open(p, openRead)
		if err != nil {
			t.Errorf("open(%q): %v", p, err)
			continue
		}
		f.Close()
	}
	f, _, err := j.open("sub/new", openCreate)
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	if fi, err := os.Stat(filepath.Join(root, "sub", "new")); err != nil || !fi.Mode().IsRegular() {
		t.Errorf("created file: %v", err)
	}
	if b := readFile(t, outside); string(b) != "secret" {
		t.Errorf("outside file changed: %q", b)
	}
	if err := j.parentExists("nodir/x"); err == nil {
		t.Error("parentExists(nodir/x) = nil")
	}
	if err := j.parentExists("sub/x"); err != nil {
		t.Errorf("parentExists(sub/x) = %v", err)
	}
}

func TestLocks(t *testing.T) {
	var l lockTable
	a, b := fileKey{dev: 1, ino: 1}, fileKey{dev: 1, ino: 2}
	if !l.tryLock(a, false) || !l.tryLock(a, false) {
		t.Fatal("two readers refused")
	}
	if l.tryLock(a, true) {
		t.Fatal("writer admitted beside readers")
	}
	if !l.tryLock(b, true) || l.tryLock(b, true) || l.tryLock(b, false) {
		t.Fatal("writer lock not exclusive")
	}
	l.unlock(a)
	l.unlock(a)
	if !l.tryLock(a, true) {
		t.Fatal("lock not released")
	}
	l.unlock(a)
	l.unlock(b)
	if len(l.m) != 0 {
		t.Errorf("leftover locks %v", l.m)
	}
}
