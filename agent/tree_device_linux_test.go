package agent

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pdiffagent/pdiffagent/engine/tree"
	"github.com/pdiffagent/pdiffagent/sysio/sysiotest"
	"github.com/pdiffagent/pdiffagent/wire"
)

// makeDevices makes in dir a character device like /dev/null (1, 3) and,
// in dir/sub, a block device numbered like an unused loop device (7, 77),
// with their own modes and mtimes; it skips the test where mknod fails.
func makeDevices(t *testing.T, dir string) map[string]uint64 {
	t.Helper()
	devs := map[string]uint64{"null": 1<<8 | 3, "sub/loop77": 7<<8 | 77}
	os.MkdirAll(filepath.Join(dir, "sub"), 0o755)
	for name, mode := range map[string]uint32{"null": syscall.S_IFCHR | 0o620, "sub/loop77": syscall.S_IFBLK | 0o640} {
		p := filepath.Join(dir, name)
		if err := syscall.Mknod(p, mode, int(devs[name])); err != nil {
			t.Skipf("mknod: %v", err)
		}
		os.Chmod(p, os.FileMode(mode&0o777))
		mt := time.Date(2022, 5, 6, 7, 8, 9, 123456789, time.UTC)
		if err := os.Chtimes(p, mt, mt); err != nil {
			t.Fatal(err)
		}
	}
	return devs
}

// checkDevices checks that dir holds the devices devs, each with its
// number (TreeEqual compares kinds, modes and mtimes, not numbers).
func checkDevices(t *testing.T, dir string, devs map[string]uint64) {
	t.Helper()
	for name, rdev := range devs {
		var st syscall.Stat_t
		if err := syscall.Lstat(filepath.Join(dir, name), &st); err != nil || st.Rdev != rdev {
			t.Errorf("%s: %v, device %#x, want %#x", name, err, st.Rdev, rdev)
		}
	}
}

// TestTreeDevicesNetwork (root): a tree's device nodes are made on the
// server only when both ask for it (the client's AllowDevices, the
// server's listen --allow-devices), with their numbers, modes and mtimes;
// a server without it refuses each (reported, the rest completes); a pull
// makes them locally. A hostile client's mknod outside the tree, through
// a planted symlink, or of what is no device, is refused.
func TestTreeDevicesNetwork(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: only root makes device nodes")
	}
	src := t.TempDir()
	sysiotest.MakeTree(t, src, sysiotest.TreeSpec{Seed: 13, Files: 10, MaxSize: 8192, Dirs: 2, Depth: 1})
	devs := makeDevices(t, src)
	opt := treeOptions()
	opt.AllowDevices = true

	refusing := startServer(t, nil)
	st, err := PushTree(context.Background(), refusing.clientConfig(TransportTCP), src+"/", refusing.remote("dst"), opt)
	if !errors.Is(err, tree.ErrPartial) || st.FailedCount != 2 || st.Files != 10 || st.FilesChanged != 10 {
		t.Fatalf("push to a server without --allow-devices: %v, %+v", err, st)
	}
	for _, f := range st.Failed {
		if !strings.Contains(f.Error, "allow-devices") {
			t.Errorf("%s: %q, want the server's refusal", f.Path, f.Error)
		}
	}
	skip := func(rel string, _ bool) bool { _, ok := devs[rel]; return ok }
	sysiotest.TreeEqual(t, src, filepath.Join(refusing.root, "dst"), sysiotest.TreeOptions{Exclude: skip})

	ts := startServer(t, func(c *ServerConfig) { c.AllowDevices = true })
	for _, transport := range []string{TransportTCP, TransportQUIC} {
		dst := filepath.Join(ts.root, "dst-"+transport)
		if st := pushTree(t, ts, transport, src+"/", "dst-"+transport, opt); st.Devices != 2 {
			t.Errorf("%s push: %+v, want 2 devices", transport, st)
		}
		sysiotest.TreeEqual(t, src, dst, sysiotest.TreeOptions{})
		checkDevices(t, dst, devs)
	}

	pulled := filepath.Join(t.TempDir(), "pulled")
	if st, err := PullTree(context.Background(), ts.clientConfig(TransportTCP), ts.remote("dst-tcp/"), pulled, opt); err != nil || st.Devices != 2 {
		t.Fatalf("pull: %v, %+v", err, st)
	}
	sysiotest.TreeEqual(t, src, pulled, sysiotest.TreeOptions{})
	checkDevices(t, pulled, devs)

	// A hostile client.
	outside := t.TempDir()
	os.Symlink(outside, filepath.Join(ts.root, "dst-tcp", "abs"))
	rt := rawTree(t, ts, "dst-tcp")
	for _, req := range []wire.TreeReq{
		{Path: "../evil", Mode: uint32(os.ModeDevice | os.ModeCharDevice | 0o666), Size: 1<<8 | 1},
		{Path: "abs/evil", Mode: uint32(os.ModeDevice | 0o666), Size: 8 << 8},
		{Path: "/evil", Mode: uint32(os.ModeDevice | 0o666), Size: 8 << 8},
		{Path: "regular", Mode: 0o644},
		{Path: "fifo", Mode: uint32(os.ModeNamedPipe | 0o644)},
		{Path: "dir", Mode: uint32(os.ModeDir | os.ModeDevice | 0o755)},
	} {
		req.Op = wire.TreeMknod
		if err := rt.op(&req); err == nil {
			t.Errorf("mknod %q mode %v: accepted", req.Path, os.FileMode(req.Mode))
		}
	}
	if rt.broken != nil {
		t.Errorf("the session broke: %v", rt.broken)
	}
	for _, p := range []string{filepath.Join(ts.root, "evil"), filepath.Join(outside, "evil"), "/evil",
		filepath.Join(ts.root, "dst-tcp", "regular"), filepath.Join(ts.root, "dst-tcp", "fifo"), filepath.Join(ts.root, "dst-tcp", "dir")} {
		if _, err := os.Lstat(p); err == nil {
			t.Errorf("%s was made", p)
		}
	}
}
