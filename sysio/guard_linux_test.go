//go:build linux

package sysio

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestLinkCount(t *testing.T) {
	dir := t.TempDir()
	a := filepath.Join(dir, "a")
	if err := os.WriteFile(a, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(a)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if n, err := LinkCount(f); err != nil || n != 1 {
		t.Fatalf("LinkCount = %d, %v; want 1", n, err)
	}
	if err := os.Link(a, filepath.Join(dir, "b")); err != nil {
		t.Fatal(err)
	}
	if n, err := LinkCount(f); err != nil || n != 2 {
		t.Fatalf("LinkCount after link = %d, %v; want 2", n, err)
	}
}

func TestFreeSpace(t *testing.T) {
	f, err := os.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sp, err := FreeSpace(f)
	if err != nil {
		t.Fatal(err)
	}
	if sp.Total == 0 || sp.Avail > sp.Total {
		t.Fatalf("FreeSpace = %+v", sp)
	}
}

func TestLock(t *testing.T) {
	p := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(p, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	open := func() *os.File {
		f, err := os.OpenFile(p, os.O_RDWR, 0)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { f.Close() })
		return f
	}
	a, b := open(), open()
	if err := Lock(a, false, false); err != nil {
		t.Fatal(err)
	}
	if err := Lock(b, false, false); err != nil {
		t.Fatalf("two shared locks: %v", err)
	}
	if err := Lock(b, true, false); !errors.Is(err, ErrLocked) {
		t.Fatalf("exclusive beside a shared lock: %v, want ErrLocked", err)
	}
	if err := Unlock(a); err != nil {
		t.Fatal(err)
	}
	if err := Lock(b, true, false); err != nil {
		t.Fatalf("exclusive after unlock: %v", err)
	}
	if err := Lock(a, false, false); !errors.Is(err, ErrLocked) {
		t.Fatalf("shared beside an exclusive lock: %v, want ErrLocked", err)
	}
}
