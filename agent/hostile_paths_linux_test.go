//go:build linux

package agent

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/pdiffagent/pdiffagent/wire"
	"golang.org/x/sys/unix"
)

// addSpecialFiles makes a FIFO, and (where mknod is permitted) a character
// and a block device, in root, and adds the refusals they must get from a
// server that does not allow devices.
func addSpecialFiles(t testing.TB, root string, denied map[string]string) map[string]string {
	t.Helper()
	if err := unix.Mkfifo(filepath.Join(root, "fifo"), 0o666); err != nil {
		t.Fatal(err)
	}
	denied["fifo"] = "is a FIFO"
	if unix.Mknod(filepath.Join(root, "null"), unix.S_IFCHR|0o666, int(unix.Mkdev(1, 3))) == nil {
		denied["null"] = "is a character device"
	}
	if unix.Mknod(filepath.Join(root, "loop"), unix.S_IFBLK|0o600, int(unix.Mkdev(7, 0))) == nil {
		denied["loop"] = "this server does not allow devices"
	}
	if len(denied) < 3 {
		t.Log("mknod not permitted: device files not tested")
	}
	return denied
}

// TestDevicesAllowed: --allow-devices admits block devices only; FIFOs and
// character devices stay refused.
func TestDevicesAllowed(t *testing.T) {
	checkGoroutines(t)
	ts := startServer(t, func(c *ServerConfig) { c.AllowDevices = true })
	denied := addSpecialFiles(t, ts.root, map[string]string{})
	for _, tr := range transports {
		for path, words := range denied {
			if path == "loop" {
				continue
			}
			refusedEverywhere(t, ts, tr, path, wire.CodeDenied, words)
		}
	}
	if _, ok := denied["loop"]; ok {
		j, err := newJail(ts.root, true)
		if err != nil {
			t.Fatal(err)
		}
		defer j.close()
		f, _, err := j.open("loop", openRead)
		if err == nil {
			f.Close()
		} else if strings.Contains(err.Error(), "does not allow devices") || strings.Contains(err.Error(), "only regular files") {
			t.Errorf("block device refused by its kind: %v", err)
		}
	}
}
