package agent

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pdiffagent/pdiffagent/engine/cache"
	"github.com/pdiffagent/pdiffagent/engine/tree"
	"github.com/pdiffagent/pdiffagent/sysio"
	"github.com/pdiffagent/pdiffagent/sysio/sysiotest"
)

// TestPushTreeRecords: a tree pushed with a block-hash cache on both ends
// records its large files on both (the server once the client's flush
// made them durable), so a push comparing every file reads only the small
// one, unrecorded, and after one block of the source changed the server
// reads at most that block.
func TestPushTreeRecords(t *testing.T) {
	if !sysio.CanSyncFS() {
		t.Skip("a tree keeps records only where there is syncfs")
	}
	ts, _ := cachedServer(t)
	cli, err := cache.Open(cache.Options{Dir: filepath.Join(t.TempDir(), "cache")})
	if err != nil {
		t.Fatal(err)
	}
	src := t.TempDir()
	os.Mkdir(filepath.Join(src, "d"), 0o755)
	writeFile(t, filepath.Join(src, "big"), sysiotest.RandomBytes(1, 64<<10))
	writeFile(t, filepath.Join(src, "d", "big2"), sysiotest.RandomBytes(2, 48<<10))
	writeFile(t, filepath.Join(src, "small"), sysiotest.RandomBytes(3, 8<<10))
	opt := treeOptions()
	opt.Engine.Cache = cli
	sessions := 0
	run := func(checksumAll bool) tree.Stats {
		t.Helper()
		o := opt
		o.ChecksumAll = checksumAll
		s := pushTree(t, ts, TransportTCP, src+"/", "dst", o)
		sysiotest.TreeEqual(t, src, filepath.Join(ts.root, "dst"), sysiotest.TreeOptions{})
		// The server commits its records once it has answered the flush:
		// wait for the session's end before the next one looks them up.
		sessions++
		if !waitFor(20*time.Second, func() bool { return strings.Count(ts.log.String(), `msg="tree session ended"`) >= sessions }) {
			t.Fatalf("the server never ended session %d:\n%s", sessions, ts.log.String())
		}
		return s
	}
	run(false)
	if st := run(true); st.FilesVerified != 3 || st.SourceRead != 8<<10 || st.TargetRead != 8<<10 {
		t.Errorf("push comparing every file: %+v, want 3 verified and only the small file read on each side", st)
	}
	p := filepath.Join(src, "big")
	b := readFile(t, p)
	b[5*4096+7] ^= 0xff
	writeFile(t, p, b)
	later := time.Now().Add(time.Hour)
	os.Chtimes(p, later, later)
	if st := run(false); st.FilesChanged != 1 || st.BlocksChanged != 1 || st.SourceRead != 64<<10 || st.TargetRead > 4096 {
		t.Errorf("after one block changed: %+v, want 1 block, the source read whole and at most that block on the server", st)
	}
}

// TestPullTreeRecords: a pulled tree's records are kept on both ends (the
// server's, of files it only read, at the session's end), so a second
// pull comparing every file reads only the small, unrecorded file.
func TestPullTreeRecords(t *testing.T) {
	if !sysio.CanSyncFS() {
		t.Skip("a tree keeps records only where there is syncfs")
	}
	ts, _ := cachedServer(t)
	cli, err := cache.Open(cache.Options{Dir: filepath.Join(t.TempDir(), "cache")})
	if err != nil {
		t.Fatal(err)
	}
	src := filepath.Join(ts.root, "src")
	os.MkdirAll(filepath.Join(src, "d"), 0o755)
	writeFile(t, filepath.Join(src, "big"), sysiotest.RandomBytes(1, 64<<10))
	writeFile(t, filepath.Join(src, "d", "big2"), sysiotest.RandomBytes(2, 48<<10))
	writeFile(t, filepath.Join(src, "small"), sysiotest.RandomBytes(3, 8<<10))
	dst := t.TempDir()
	opt := treeOptions()
	opt.Engine.Cache = cli
	opt.ChecksumAll = true
	for i := 1; i <= 2; i++ {
		st, err := PullTree(context.Background(), ts.clientConfig(TransportTCP), ts.remote("src/"), dst, opt)
		if err != nil {
			t.Fatalf("pull %d: %v", i, err)
		}
		sysiotest.TreeEqual(t, src, dst, sysiotest.TreeOptions{})
		if i == 2 && (st.FilesVerified != 3 || st.SourceRead != 8<<10 || st.TargetRead != 8<<10) {
			t.Errorf("second pull: %+v, want 3 verified and only the small file read on each side", st)
		}
		// The server commits its records at the session's end.
		if !waitFor(20*time.Second, func() bool { return strings.Count(ts.log.String(), `msg="tree session ended"`) >= i }) {
			t.Fatalf("the server never ended pull %d:\n%s", i, ts.log.String())
		}
	}
}
