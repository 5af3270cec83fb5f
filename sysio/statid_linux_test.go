package sysio

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// TestStatIdentity: the identity taken from an lstat of a name and its
// directory's filesystem is the one File.Identity takes from the open
// file (so that a record's trust rule holds for either), and a write
// that restores the mtime changes it (ctime).
func TestStatIdentity(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "f")
	if err := os.WriteFile(p, []byte("hello"), 0o644); err != nil {
		t.Fatal(err)
	}
	d, err := os.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	fsys, err := DirFilesystem(d)
	if err != nil {
		t.Fatal(err)
	}
	lstatID := func() Identity {
		t.Helper()
		fi, err := os.Lstat(p)
		if err != nil {
			t.Fatal(err)
		}
		id, ok := StatIdentity(fi, fsys)
		if !ok {
			t.Fatal("no identity for a regular file")
		}
		return id
	}
	f, err := Open(p, ReadOnly, Options{Direct: DirectOff})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	want, err := f.Identity()
	if err != nil {
		t.Fatal(err)
	}
	if got := lstatID(); got != want {
		t.Fatalf("StatIdentity %+v, File.Identity %+v", got, want)
	}
	if got, ok := PathIdentity(p); !ok || got != want {
		t.Fatalf("PathIdentity %+v %v, File.Identity %+v", got, ok, want)
	}
	fi, _ := os.Stat(p)
	for CoarseNow() <= want.Ctime+int64(TimestampGranularity()) { // past the tick: the write moves ctime
		runtime.Gosched()
	}
	if err := os.WriteFile(p, []byte("jello"), 0o644); err != nil {
		t.Fatal(err)
	}
	os.Chtimes(p, fi.ModTime(), fi.ModTime())
	if got := lstatID(); got == want || got.Mtime != want.Mtime || got.Size != want.Size {
		t.Errorf("after a write that kept size and mtime: %+v, was %+v: want only ctime moved", got, want)
	}
	if got, ok := PathIdentity(p); !ok || got == want {
		t.Errorf("PathIdentity after the write: %+v %v", got, ok)
	}
	if _, ok := PathIdentity(dir); ok {
		t.Error("PathIdentity of a directory")
	}
	di, _ := os.Lstat(dir)
	if _, ok := StatIdentity(di, fsys); ok {
		t.Error("an identity for a directory")
	}
	if _, ok := StatIdentity(fi, Filesystem{Dev: fsys.Dev + 1, Type: fsys.Type}); ok {
		t.Error("an identity for a file on another device than its filesystem's")
	}
}
