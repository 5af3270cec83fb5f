//go:build linux

package agent

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pdiffagent/pdiffagent/wire"
	"golang.org/x/sys/unix"
)

// TestJailWalk runs the refusals through the fallback used where the
// kernel has no openat2; it refuses every symbolic link.
func TestJailWalk(t *testing.T) {
	root, outside := jailFixture(t)
	j, err := newJail(root, false)
	if err != nil {
		t.Fatal(err)
	}
	defer j.close()
	j.noOpenat2.Store(true)
	for _, c := range refusals(filepath.Base(outside)) {
		if strings.Contains(c.path, "escape") || c.path == "abs-inside" {
			c.want = "symbolic link"
		}
		checkRefused(t, j, c, root)
	}
	for _, p := range []string{"inside", "subdir-link/f"} {
		checkRefused(t, j, jailCase{p, openRead, wire.CodeDenied, "symbolic link"}, root)
	}
	for _, p := range []string{"plain", "sub/f"} {
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
}

func TestJailSpecialFiles(t *testing.T) {
	root := t.TempDir()
	if err := unix.Mkfifo(filepath.Join(root, "fifo"), 0o644); err != nil {
		t.Fatal(err)
	}
	devOK := unix.Mknod(filepath.Join(root, "null"), unix.S_IFCHR|0o666, int(unix.Mkdev(1, 3))) == nil
	blkOK := unix.Mknod(filepath.Join(root, "loop"), unix.S_IFBLK|0o600, int(unix.Mkdev(7, 0))) == nil
	for _, allow := range []bool{false, true} {
		j, err := newJail(root, allow)
		if err != nil {
			t.Fatal(err)
		}
		for _, mode := range []openMode{openRead, openWrite, openCreate} {
			checkRefused(t, j, jailCase{"fifo", mode, wire.CodeDenied, "FIFO"}, root) // must not hang either
			if devOK {
				checkRefused(t, j, jailCase{"null", mode, wire.CodeDenied, "character device"}, root)
			}
		}
		if blkOK {
			f, _, err := j.open("loop", openRead)
			switch {
			case !allow:
				checkRefused(t, j, jailCase{"loop", openRead, wire.CodeDenied, "block device"}, root)
			case err == nil:
				f.Close()
			case errors.Is(err, os.ErrNotExist) || strings.Contains(err.Error(), "no such device"):
				// no loop0 here; the kind check is what matters
			default:
				t.Errorf("allowed block device: %v", err)
			}
		}
		j.close()
	}
	if !devOK {
		t.Log("mknod not permitted: device files not tested")
	}
}
