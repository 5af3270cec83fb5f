//go:build linux

package agent

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/pdiffagent/pdiffagent/engine"
	"github.com/pdiffagent/pdiffagent/wire"
	"golang.org/x/sys/unix"
)

// A character device beneath the root is refused without being opened:
// its driver never sees an open (inotify reports every open but O_PATH's).
func TestCharDeviceNotOpened(t *testing.T) {
	checkGoroutines(t)
	ts := startServer(t, nil)
	dev := filepath.Join(ts.root, "null")
	if err := unix.Mknod(dev, unix.S_IFCHR|0o666, int(unix.Mkdev(1, 3))); err != nil {
		t.Skipf("mknod: %v", err)
	}
	in, err := unix.InotifyInit1(unix.IN_NONBLOCK | unix.IN_CLOEXEC)
	if err != nil {
		t.Skipf("inotify: %v", err)
	}
	defer unix.Close(in)
	if _, err := unix.InotifyAddWatch(in, dev, unix.IN_OPEN); err != nil {
		t.Skipf("inotify watch: %v", err)
	}
	src := filepath.Join(t.TempDir(), "src")
	writeFile(t, src, randomBytes(9, testBlock))
	ctx := context.Background()
	_, err = Push(ctx, ts.clientConfig("tcp"), src, ts.remote("null"), testParams(1, 0), engine.Options{})
	wantPeerError(t, err, wire.CodeDenied, "character device")
	_, err = Pull(ctx, ts.clientConfig("tcp"), ts.remote("null"), filepath.Join(t.TempDir(), "got"), testParams(1, 0), engine.Options{})
	wantPeerError(t, err, wire.CodeDenied, "character device")
	buf := make([]byte, 4096)
	if n, err := unix.Read(in, buf); n > 0 {
		t.Fatalf("the server opened the character device (%d bytes of inotify events)", n)
	} else if err != unix.EAGAIN {
		t.Fatalf("inotify read: %d, %v", n, err)
	}
}
