package agent

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pdiffagent/pdiffagent/engine"
	"github.com/pdiffagent/pdiffagent/engine/tree"
	"github.com/pdiffagent/pdiffagent/sysio/sysiotest"
	"github.com/pdiffagent/pdiffagent/wire"
)

func treeOptions() tree.Options {
	return tree.Options{Session: engine.Session{BlockSize: 4096, Workers: 3}, HardLinks: true}
}

func pushTree(t *testing.T, ts *testServer, transport, src, remote string, opt tree.Options) tree.Stats {
	t.Helper()
	st, err := PushTree(context.Background(), ts.clientConfig(transport), src, ts.remote(remote), opt)
	if err != nil {
		t.Fatalf("PushTree: %v (failed: %v)", err, st.Failed)
	}
	return st
}

// TestPushTree: a generated tree pushed in one session (content, modes,
// mtimes, symlinks, hard links, odd names), pushed again after one change
// (only that file is sent), then with --delete after a removal, on both
// transports.
func TestPushTree(t *testing.T) {
	for _, transport := range []string{TransportTCP, TransportQUIC} {
		t.Run(transport, func(t *testing.T) {
			ts := startServer(t, func(c *ServerConfig) { c.AllowHardlinks = true })
			src := t.TempDir()
			tr := sysiotest.MakeTree(t, src, sysiotest.TreeSpec{Seed: 7, Files: 60, MaxSize: 40 << 10, Dirs: 10, Depth: 6,
				EmptyDirs: 2, Symlinks: 6, HardLinks: 3, Sparse: 1, Modes: true, OddNames: true})
			dst := filepath.Join(ts.root, "dst")
			st := pushTree(t, ts, transport, src+"/", "dst", treeOptions())
			sysiotest.TreeEqual(t, src, dst, sysiotest.TreeOptions{})
			if st.Files != int64(len(tr.Files)) || st.FilesChanged+st.HardLinks != st.Files || st.FailedCount != 0 {
				t.Errorf("first push: %+v, want %d files all changed", st, len(tr.Files))
			}

			// One change: only it is sent; the rest is skipped after a stat.
			var plain string
			for _, f := range tr.Files {
				fi, err := os.Stat(filepath.Join(src, f))
				if err == nil && fi.Size() > 8192 && !contains(tr.HardLinks, f) && !contains(tr.Sparse, f) {
					plain = f
					break
				}
			}
			p := filepath.Join(src, plain)
			fi, _ := os.Stat(p)
			b := readFile(t, p)
			b[100] ^= 0xff
			writeFile(t, p, b)
			os.Chtimes(p, fi.ModTime(), fi.ModTime().Add(1))
			st = pushTree(t, ts, transport, src+"/", "dst", treeOptions())
			sysiotest.TreeEqual(t, src, dst, sysiotest.TreeOptions{})
			if st.FilesChanged != 1 || st.FilesSkipped != st.Files-1-st.HardLinks || st.BlocksChanged != 1 {
				t.Errorf("second push: %+v, want 1 file with 1 block changed, the rest skipped", st)
			}

			// --delete removes what the source lacks.
			if err := os.Remove(p); err != nil {
				t.Fatal(err)
			}
			opt := treeOptions()
			opt.Delete = true
			st = pushTree(t, ts, transport, src+"/", "dst", opt)
			sysiotest.TreeEqual(t, src, dst, sysiotest.TreeOptions{})
			if st.Deleted != 1 {
				t.Errorf("delete: %+v, want 1 deleted", st)
			}
		})
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// TestPushTreeReadOnly: a read-only server refuses a tree, and writes nothing.
func TestPushTreeReadOnly(t *testing.T) {
	ts := startServer(t, func(c *ServerConfig) { c.ReadOnly = true })
	src := t.TempDir()
	writeFile(t, filepath.Join(src, "f"), []byte("x"))
	_, err := PushTree(context.Background(), ts.clientConfig(TransportTCP), src+"/", ts.remote("dst"), treeOptions())
	var pe *engine.PeerError
	if !errors.As(err, &pe) {
		t.Fatalf("push to a read-only server: %v, want the server's refusal", err)
	}
	if names := dirNames(t, ts.root); names != "" {
		t.Errorf("read-only server's root holds %q", names)
	}
}

// TestPushTreeTunnel: a tree over ssh's kind of pipe (two of them, the
// worker streams spread over both), served by ServeTunnel.
func TestPushTreeTunnel(t *testing.T) {
	root, src := t.TempDir(), t.TempDir()
	sysiotest.MakeTree(t, src, sysiotest.TreeSpec{Seed: 3, Files: 30, MaxSize: 20 << 10, Dirs: 5, Depth: 3, Symlinks: 3, Modes: true})
	a, b := net.Pipe()
	c, s := net.Pipe()
	joins := make(chan io.ReadWriteCloser, 1)
	joins <- s
	done := make(chan error, 1)
	go func() { done <- ServeTunnel(context.Background(), ServerConfig{Root: root}, b, "ssh-client", joins) }()
	st, err := PushTree(context.Background(), ClientConfig{Tunnel: a, Tunnels: []io.ReadWriteCloser{c}}, src+"/", "dst", treeOptions())
	a.Close()
	c.Close()
	if err != nil {
		t.Fatalf("PushTree: %v (%+v)", err, st.Failed)
	}
	if err := <-done; err != nil {
		t.Fatalf("server: %v", err)
	}
	sysiotest.TreeEqual(t, src, filepath.Join(root, "dst"), sysiotest.TreeOptions{})
}

// TestPullTree: a tree pulled from a read-only server in one session
// (content, modes, mtimes, symlinks, hard links), again after a change
// on the server, then with --delete; a push to it stays refused.
func TestPullTree(t *testing.T) {
	for _, transport := range []string{TransportTCP, TransportQUIC} {
		t.Run(transport, func(t *testing.T) {
			ts := startServer(t, func(c *ServerConfig) { c.ReadOnly, c.AllowHardlinks = true, true })
			src := filepath.Join(ts.root, "src")
			os.Mkdir(src, 0o755)
			tr := sysiotest.MakeTree(t, src, sysiotest.TreeSpec{Seed: 5, Files: 50, MaxSize: 40 << 10, Dirs: 8, Depth: 4,
				EmptyDirs: 2, Symlinks: 5, HardLinks: 3, Modes: true, OddNames: true})
			dst := filepath.Join(t.TempDir(), "dst")
			pull := func(opt tree.Options) tree.Stats {
				t.Helper()
				st, err := PullTree(context.Background(), ts.clientConfig(transport), ts.remote("src/"), dst, opt)
				if err != nil {
					t.Fatalf("PullTree: %v (failed: %v)", err, st.Failed)
				}
				sysiotest.TreeEqual(t, src, dst, sysiotest.TreeOptions{})
				return st
			}
			if st := pull(treeOptions()); st.FilesChanged+st.HardLinks != int64(len(tr.Files)) {
				t.Errorf("first pull: %+v, want %d files all changed", st, len(tr.Files))
			}
			var plain string
			for _, f := range tr.Files {
				if !contains(tr.HardLinks, f) && !strings.ContainsAny(f, "\n\xff ") {
					plain = f
					break
				}
			}
			p := filepath.Join(src, plain)
			writeFile(t, p, append(readFile(t, p), "more"...))
			if st := pull(treeOptions()); st.FilesChanged != 1 {
				t.Errorf("second pull: %+v, want 1 changed", st)
			}
			if err := os.Remove(p); err != nil {
				t.Fatal(err)
			}
			opt := treeOptions()
			opt.Delete = true
			if st := pull(opt); st.Deleted != 1 {
				t.Errorf("pull --delete: %+v, want 1 deleted", st)
			}
		})
	}
}

// TestTreeLargeDirectory: a directory of more names than the sort
// threshold (lowered here) is pushed and pulled like any other: the
// server sorts its listing on disk in runs of the threshold and streams
// it, the client holds what it receives on disk past the threshold, and
// --delete removes exactly the target's extra names.
func TestTreeLargeDirectory(t *testing.T) {
	old := tree.SetSortThreshold(50)
	t.Cleanup(func() { tree.SetSortThreshold(old) })
	ts := startServer(t, nil)
	src := filepath.Join(ts.root, "src")
	os.MkdirAll(filepath.Join(src, "big"), 0o755)
	for i := range 1000 {
		writeFile(t, filepath.Join(src, "big", fmt.Sprintf("f%04d\n", (i*7919)%1000)), nil)
	}
	sysiotest.MakeTree(t, src, sysiotest.TreeSpec{Seed: 12, Files: 20, MaxSize: 4096, Dirs: 2, Depth: 1, OddNames: true})
	opt := treeOptions()
	opt.Delete = true

	// Pull: the server's source listing is large.
	pulled := filepath.Join(t.TempDir(), "pulled")
	st, err := PullTree(context.Background(), ts.clientConfig(TransportTCP), ts.remote("src/"), pulled, opt)
	if err != nil || st.Files != 1020 {
		t.Fatalf("pull: %v, %+v", err, st)
	}
	sysiotest.TreeEqual(t, src, pulled, sysiotest.TreeOptions{})
	if !strings.Contains(ts.log.String(), "dir=big runs=20") {
		t.Errorf("the server did not sort the large listing on disk in 20 runs:\n%s", ts.log.String())
	}

	// Push: both listings are large, and the target has extra names.
	dst := filepath.Join(ts.root, "dst")
	os.MkdirAll(filepath.Join(dst, "big"), 0o755)
	for i := range 300 {
		writeFile(t, filepath.Join(dst, "big", fmt.Sprintf("f%04d\nx", i)), nil)
	}
	st = pushTree(t, ts, TransportTCP, pulled+"/", "dst", opt)
	sysiotest.TreeEqual(t, src, dst, sysiotest.TreeOptions{})
	if st.Files != 1020 || st.Deleted != 300 {
		t.Errorf("push: %+v, want 1020 files, 300 deleted", st)
	}
}

// TestTreeHostileListings: a client that asks again and again for the
// listing of a directory larger than the threshold gets it whole and
// sorted each time from a server that sorted it on disk (its memory is the
// threshold's names, not the directory's), and one that walks away in the
// middle of a listing leaves a server that ends the session and serves
// the next.
func TestTreeHostileListings(t *testing.T) {
	old := tree.SetSortThreshold(100)
	t.Cleanup(func() { tree.SetSortThreshold(old) })
	ts := startServer(t, nil)
	big := filepath.Join(ts.root, "dst", "big")
	os.MkdirAll(big, 0o755)
	for i := range 3000 {
		writeFile(t, filepath.Join(big, fmt.Sprintf("n%05d", (i*7919)%3000)), nil)
	}
	rt := rawTree(t, ts, "dst")
	for range 5 {
		ents, err := listAll(rt, "big")
		if err != nil || len(ents) != 3000 {
			t.Fatalf("list: %v, %d entries", err, len(ents))
		}
		for i, e := range ents {
			if want := fmt.Sprintf("n%05d", i); e.Name != want {
				t.Fatalf("entry %d is %q, want %q", i, e.Name, want)
			}
		}
	}
	if n := strings.Count(ts.log.String(), "dir=big runs=30"); n != 5 {
		t.Errorf("%d of 5 listings sorted on disk in 30 runs:\n%s", n, ts.log.String())
	}
	// Walk away after asking: the server is left writing to a closed
	// session.
	gone := rawTree(t, ts, "dst")
	if err := gone.ctl.Send(&wire.TreeReq{Op: wire.TreeList, Path: "big"}); err != nil {
		t.Fatal(err)
	}
	gone.c.close(context.Background(), errors.New("walked away"))
	if ents, err := listAll(rawTree(t, ts, "dst"), "big"); err != nil || len(ents) != 3000 {
		t.Fatalf("list after a client walked away: %v, %d entries", err, len(ents))
	}
}

// TestTreeProgressTotals: a tree's progress ends with every file found
// done and every byte accounted for, pushed or pulled, first run (data
// sent) and rerun (skipped after a stat): a pull's receiver, whose
// engine counts no comparison, too.
func TestTreeProgressTotals(t *testing.T) {
	ts := startServer(t, nil)
	src := filepath.Join(ts.root, "src")
	os.Mkdir(src, 0o755)
	sysiotest.MakeTree(t, src, sysiotest.TreeSpec{Seed: 14, Files: 30, MaxSize: 64 << 10, Dirs: 3, Depth: 2, Symlinks: 2})
	pulled := filepath.Join(t.TempDir(), "pulled")
	for _, run := range []string{"pull", "pull again", "push", "push again"} {
		opt := treeOptions()
		opt.Progress = new(tree.Progress)
		var (
			st  tree.Stats
			err error
		)
		if strings.HasPrefix(run, "pull") {
			st, err = PullTree(context.Background(), ts.clientConfig(TransportTCP), ts.remote("src/"), pulled, opt)
		} else {
			st, err = PushTree(context.Background(), ts.clientConfig(TransportTCP), pulled+"/", ts.remote("dst"), opt)
		}
		if err != nil {
			t.Fatalf("%s: %v", run, err)
		}
		p := opt.Progress
		if p.Files.Load() != st.Files || p.FilesDone.Load() != st.Files || p.Bytes.Load() != st.BytesTotal || p.Done() != st.BytesTotal {
			t.Errorf("%s: progress ends at %d/%d files, %d/%d bytes; want %d files, %d bytes", run,
				p.FilesDone.Load(), p.Files.Load(), p.Done(), p.Bytes.Load(), st.Files, st.BytesTotal)
		}
	}
}
