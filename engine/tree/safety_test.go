package tree

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/pdiffagent/pdiffagent/sysio/sysiotest"
)

// TestSymlinksInTargetNotFollowed: where the target holds a symlink to a
// directory outside it (or to a file outside it) and the source a real
// directory (or file) of that name, the link is replaced; nothing is
// written through it.
func TestSymlinksInTargetNotFollowed(t *testing.T) {
	src, dst, outside := t.TempDir(), t.TempDir(), t.TempDir()
	os.Mkdir(filepath.Join(src, "dir"), 0o755)
	sysiotest.WriteFile(t, filepath.Join(src, "dir/f"), []byte("from source"))
	sysiotest.WriteFile(t, filepath.Join(src, "file"), []byte("from source"))
	sysiotest.WriteFile(t, filepath.Join(outside, "f"), []byte("outside"))
	sysiotest.WriteFile(t, filepath.Join(outside, "file"), []byte("outside"))
	os.Symlink(outside, filepath.Join(dst, "dir"))
	os.Symlink(filepath.Join(outside, "file"), filepath.Join(dst, "file"))

	syncTree(t, src, dst, testOptions())
	sysiotest.TreeEqual(t, src, dst, sysiotest.TreeOptions{})
	for _, f := range []string{"f", "file"} {
		if b := sysiotest.ReadFile(t, filepath.Join(outside, f)); string(b) != "outside" {
			t.Errorf("%s outside the target: %q, written through a symlink", f, b)
		}
	}
}

// TestAtomicTree: with Atomic, changed files are replaced by a rename
// (a new inode) and no temporary file is left.
func TestAtomicTree(t *testing.T) {
	src, dst := t.TempDir(), t.TempDir()
	sysiotest.MakeTree(t, src, sysiotest.TreeSpec{Seed: 9, Files: 20, MinSize: 1, MaxSize: 20 << 10, Dirs: 3, Depth: 2})
	syncTree(t, src, dst, testOptions())
	victim := filepath.Join(src, "f00000.dat")
	var rel string
	filepath.WalkDir(src, func(p string, d os.DirEntry, err error) error {
		if err == nil && d.Name() == "f00000.dat" {
			victim, rel = p, p[len(src)+1:]
		}
		return nil
	})
	before, err := os.Stat(filepath.Join(dst, rel))
	if err != nil {
		t.Fatal(err)
	}
	sysiotest.WriteFile(t, victim, []byte("rewritten"))
	opt := testOptions()
	opt.Atomic = true
	syncTree(t, src, dst, opt)
	sysiotest.TreeEqual(t, src, dst, sysiotest.TreeOptions{})
	after, _ := os.Stat(filepath.Join(dst, rel))
	if os.SameFile(before, after) {
		t.Error("the changed file was written in place, not replaced")
	}
}

// TestOwnerAndDevices (root): --owner gives files, directories and
// symlinks the source's owner; devices are made only with AllowDevices.
func TestOwnerAndDevices(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root (chown, mknod)")
	}
	src, dst := t.TempDir(), t.TempDir()
	os.Mkdir(filepath.Join(src, "d"), 0o750)
	sysiotest.WriteFile(t, filepath.Join(src, "d/f"), []byte("owned"))
	os.Symlink("f", filepath.Join(src, "d/l"))
	for _, p := range []string{"d", "d/f"} {
		if err := os.Chown(filepath.Join(src, p), 1234, 5678); err != nil {
			t.Fatal(err)
		}
	}
	os.Lchown(filepath.Join(src, "d/l"), 1234, 5678)
	if err := syscall.Mknod(filepath.Join(src, "null"), syscall.S_IFCHR|0o666, 1<<8|3); err != nil {
		t.Skipf("mknod: %v", err)
	}
	opt := testOptions()
	opt.Session.Owner = true
	st := syncTree(t, src, dst, opt)
	if st.Specials != 1 {
		t.Errorf("%+v: want the device skipped", st)
	}
	sysiotest.TreeEqual(t, src, dst, sysiotest.TreeOptions{Owners: true,
		Exclude: func(rel string, _ bool) bool { return rel == "null" }})
	opt.AllowDevices = true
	if st := syncTree(t, src, dst, opt); st.Devices != 1 {
		t.Errorf("%+v: want one device", st)
	}
	sysiotest.TreeEqual(t, src, dst, sysiotest.TreeOptions{Owners: true})
}
