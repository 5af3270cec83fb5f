package sysiotest

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// Mount mounts a fresh filesystem of type fstype (tmpfs, ramfs) of at most
// size ("16m") at dir, creating dir, and unmounts it when the test ends.
// It needs root: without, or where the mount fails, it skips the test.
func Mount(t testing.TB, fstype, dir, size string) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("not root: cannot mount a filesystem")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("mount", "-t", fstype, "-o", "size="+size, fstype, dir).CombinedOutput(); err != nil {
		t.Skipf("mount %s: %v: %s", fstype, err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v: %s", dir, err, out)
		}
	})
}

// LoopDevice attaches a file holding content to a free loop device and
// returns the device's path; it is detached when the test ends. It needs
// root and losetup: without, it skips the test.
func LoopDevice(t testing.TB, content []byte) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("not root: cannot attach a loop device")
	}
	img := filepath.Join(t.TempDir(), "img")
	WriteFile(t, img, content)
	out, err := exec.Command("losetup", "--find", "--show", img).CombinedOutput()
	if err != nil {
		t.Skipf("losetup: %v: %s", err, out)
	}
	dev := strings.TrimSpace(string(out))
	t.Cleanup(func() {
		if out, err := exec.Command("losetup", "-d", dev).CombinedOutput(); err != nil {
			t.Errorf("losetup -d %s: %v: %s", dev, err, out)
		}
	})
	return dev
}
