package sysiotest

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// Loop is a loop device attached for a test (AttachLoop).
type Loop struct {
	Dev string // the device's path, /dev/loopN
	img string // its backing file
}

// AttachLoop attaches a file holding content to a free loop device,
// detached when the test ends. It skips the test only when not root; a
// root that cannot attach one (no losetup, no loop devices) fails it.
func AttachLoop(t testing.TB, content []byte) *Loop {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("not root: attaching a loop device needs root")
	}
	l := &Loop{img: filepath.Join(t.TempDir(), "img")}
	WriteFile(t, l.img, content)
	out, err := exec.Command("losetup", "--find", "--show", l.img).CombinedOutput()
	if err != nil {
		t.Fatalf("losetup: %v: %s", err, out)
	}
	l.Dev = strings.TrimSpace(string(out))
	t.Cleanup(func() {
		if out, err := exec.Command("losetup", "-d", l.Dev).CombinedOutput(); err != nil {
			t.Errorf("losetup -d %s: %v: %s", l.Dev, err, out)
		}
	})
	return l
}

// Recreate gives the device new content behind its back, under the same
// device number: it rewrites the backing file (not through the device)
// and drops the device's buffer cache (BLKFLSBUF), as a volume deleted
// and created again looks to a reader of the device.
func (l *Loop) Recreate(t testing.TB, content []byte) {
	t.Helper()
	WriteFile(t, l.img, content)
	f, err := os.Open(l.Dev)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := unix.IoctlSetInt(int(f.Fd()), unix.BLKFLSBUF, 0); err != nil {
		t.Fatalf("BLKFLSBUF %s: %v", l.Dev, err)
	}
}
