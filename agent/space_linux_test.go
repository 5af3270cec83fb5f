//go:build linux

package agent

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pdiffagent/pdiffagent/sysio/sysiotest"
	"github.com/pdiffagent/pdiffagent/wire"
	"golang.org/x/sys/unix"
)

func avail(t *testing.T, dir string) uint64 {
	t.Helper()
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		t.Fatal(err)
	}
	return st.Bavail * uint64(st.Bsize)
}

// rawPushOpen sends a push Open for path on a raw stream and returns the
// stream, for the caller to read the reply.
func rawPushOpen(t *testing.T, ts *testServer, path string, size int64, flags uint32) *netStream {
	t.Helper()
	o := rawOpen(t, wire.OpPush, path, size, true)
	o.Flags |= flags
	ns := rawStream(t, ts, "tcp")
	if err := ns.Send(o); err != nil {
		t.Fatal(err)
	}
	return ns
}

// One Open must not fill the server's disk: a push larger than the room
// left above the reserve, or than --max-file-size, is refused before
// anything is created or extended.
func TestOpenFillsDisk(t *testing.T) {
	checkGoroutines(t)
	root := filepath.Join(t.TempDir(), "fs")
	sysiotest.Mount(t, "tmpfs", root, "8m")
	ts := startServer(t, func(c *ServerConfig) { c.Root = root })
	ts.root = root
	before := avail(t, root)
	for _, c := range []struct {
		name  string
		size  int64
		flags uint32
	}{
		{"1TiB-allocated", 1 << 40, wire.FlagNoSparse},
		{"8GiB-sparse", 8 << 30, 0},
		{"just-over", int64(before), 0},
	} {
		ns := rawPushOpen(t, ts, c.name, c.size, c.flags)
		wantDisconnect(t, ns, wire.CodeIO, "not enough space")
		ns.release()
		if names := dirNames(t, root); names != "" {
			t.Fatalf("%s: refused push left %q in the root", c.name, names)
		}
	}
	// An existing file may grow only into the room there is.
	writeFile(t, filepath.Join(root, "old"), randomBytes(5, 3<<20))
	ns := rawPushOpen(t, ts, "old", 12<<20, 0)
	wantDisconnect(t, ns, wire.CodeIO, "not enough space")
	ns.release()
	// In place it would need 3 MiB more; atomically, a whole new 6 MiB copy.
	ns = rawPushOpen(t, ts, "old", 6<<20, wire.FlagAtomic)
	wantDisconnect(t, ns, wire.CodeIO, "not enough space")
	ns.release()
	if fi, err := os.Stat(filepath.Join(root, "old")); err != nil || fi.Size() != 3<<20 {
		t.Fatalf("refused push changed the existing target: %v %v", fi.Size(), err)
	}
	if names := dirNames(t, root); names != "old" {
		t.Fatalf("refused pushes left %q in the root", names)
	}
	if a := avail(t, root); a+testBlock < before-3<<20 {
		t.Fatalf("free space went from %d to %d", before, a)
	}
	mustPush(t, ts, "tcp", "fits", randomBytes(6, 2<<20))

	limited := startServer(t, func(c *ServerConfig) { c.MaxFileSize = 1 << 20 })
	ns = rawPushOpen(t, limited, "big", 1<<20+1, 0)
	wantDisconnect(t, ns, wire.CodeDenied, "--max-file-size")
	ns.release()
	if names := dirNames(t, limited.root); names != "" {
		t.Fatalf("refused push left %q", names)
	}
}

// A push that fails before writing a block leaves no trace: a target it
// created is removed, one it extended is cut back; once blocks were
// written the log says the target is partly updated.
func TestFailedPushLeavesTarget(t *testing.T) {
	checkGoroutines(t)
	ts := startServer(t, nil)
	failed := func(n int) bool { return strings.Count(ts.log.String(), "session failed") >= n }

	ns := rawPushOpen(t, ts, "new", 8<<30, 0) // sparse 8 GiB, then gone
	if _, err := expect[*wire.OpenReply](ns, time.Now().Add(5*time.Second)); err != nil {
		t.Fatal(err)
	}
	ns.Abort(nil)
	ns.release()
	if !waitFor(10*time.Second, func() bool { return failed(1) }) {
		t.Fatal("session did not fail")
	}
	if names := dirNames(t, ts.root); names != "" {
		t.Fatalf("failed push left %q in the root", names)
	}

	old := randomBytes(7, testBlock)
	writeFile(t, filepath.Join(ts.root, "old"), old)
	ns = rawPushOpen(t, ts, "old", 1<<30, 0)
	if _, err := expect[*wire.OpenReply](ns, time.Now().Add(5*time.Second)); err != nil {
		t.Fatal(err)
	}
	ns.Abort(nil)
	ns.release()
	if !waitFor(10*time.Second, func() bool { return failed(2) }) {
		t.Fatal("session did not fail")
	}
	if got := readFile(t, filepath.Join(ts.root, "old")); string(got) != string(old) {
		t.Fatalf("failed push left the target at %d bytes, want it as it was (%d)", len(got), len(old))
	}

	ns = rawPushOpen(t, ts, "old", 4*testBlock, 0)
	if _, err := expect[*wire.OpenReply](ns, time.Now().Add(5*time.Second)); err != nil {
		t.Fatal(err)
	}
	if err := ns.Send(block(1, testBlock)); err != nil {
		t.Fatal(err)
	}
	// The server has the block once the engine wrote it; then hang up.
	if !waitFor(10*time.Second, func() bool {
		b, _ := os.ReadFile(filepath.Join(ts.root, "old"))
		return len(b) == 4*testBlock && string(b[testBlock:2*testBlock]) == string(block(1, testBlock).Payload)
	}) {
		t.Fatal("block was not written")
	}
	ns.Abort(nil)
	ns.release()
	if !waitFor(10*time.Second, func() bool { return strings.Contains(ts.log.String(), "target partly updated") }) {
		t.Fatalf("log does not say the target is partly updated:\n%s", ts.log.String())
	}
}
