//go:build linux

package sysio

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"
)

// TestIdentity: the identity names the inode opened, reports the
// filesystem type, and its ctime moves on a write that restores mtime.
func TestIdentity(t *testing.T) {
	f := create(t, t.TempDir(), Options{})
	if _, err := f.WriteAt([]byte("hello"), 0); err != nil {
		t.Fatal(err)
	}
	a, err := f.Identity()
	if err != nil {
		t.Fatal(err)
	}
	fi, _ := os.Stat(f.Name())
	if a.Size != 5 || a.Ino == 0 || a.Device || a.Mtime != fi.ModTime().UnixNano() || a.FSType == 0 {
		t.Fatalf("identity %+v", a)
	}
	// Past the coarse clock's tick, a write must move ctime although
	// mtime is put back.
	for CoarseNow() <= a.Ctime+int64(TimestampGranularity()) {
		runtime.Gosched()
	}
	f.WriteAt([]byte("j"), 0)
	if err := f.SetModTime(time.Unix(0, a.Mtime)); err != nil {
		t.Fatal(err)
	}
	b, _ := f.Identity()
	if b.Mtime != a.Mtime || b.Ctime == a.Ctime {
		t.Fatalf("after write and mtime restore: %+v, before %+v", b, a)
	}
	// Renamed, it is the same identity.
	np := filepath.Join(filepath.Dir(f.Name()), "moved")
	os.Rename(f.Name(), np)
	c, _ := f.Identity()
	if c.Dev != b.Dev || c.Ino != b.Ino {
		t.Fatalf("rename changed dev/ino: %+v %+v", c, b)
	}
}

func TestTmpfsTrusted(t *testing.T) {
	dir := mountFS(t, "tmpfs")
	f := create(t, dir, Options{})
	id, err := f.Identity()
	if err != nil {
		t.Fatal(err)
	}
	if id.FSType != FSTmpfs || !TrustedFS(id.FSType) {
		t.Fatalf("tmpfs type %#x", id.FSType)
	}
}
