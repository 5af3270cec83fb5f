//go:build linux

package sysio

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestReplaceReflink needs root, mkfs.xfs and a loop device: on XFS (with
// reflink, the default) Fill must clone, not copy.
func TestReplaceReflink(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("not root")
	}
	if _, err := exec.LookPath("mkfs.xfs"); err != nil {
		t.Skip("no mkfs.xfs")
	}
	tmp := t.TempDir()
	img, mnt := filepath.Join(tmp, "xfs.img"), filepath.Join(tmp, "mnt")
	os.Mkdir(mnt, 0o755)
	if err := os.WriteFile(img, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	os.Truncate(img, 320<<20)
	if out, err := exec.Command("mkfs.xfs", "-q", "-m", "reflink=1", img).CombinedOutput(); err != nil {
		t.Skipf("mkfs.xfs: %v: %s", err, out)
	}
	if out, err := exec.Command("mount", "-o", "loop", img, mnt).CombinedOutput(); err != nil {
		t.Skipf("mount: %v: %s", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", mnt).Run() })

	path := filepath.Join(mnt, "f")
	want := bytes.Repeat([]byte("0123456789abcdef"), 1<<16)
	if err := os.WriteFile(path, want, 0o644); err != nil {
		t.Fatal(err)
	}
	r, err := Replace(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if err := r.Fill(context.Background()); err != nil {
		t.Fatal(err)
	}
	if !r.Cloned {
		t.Error("Fill copied on XFS: want a reflink clone")
	}
	r.File.WriteAt([]byte("XY"), 0)
	if err := r.Commit(); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(path)
	copy(want, "XY")
	if !bytes.Equal(got, want) {
		t.Error("content after a cloned replacement differs")
	}
}
