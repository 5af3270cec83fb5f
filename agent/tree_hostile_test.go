package agent

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pdiffagent/pdiffagent/engine"
	"github.com/pdiffagent/pdiffagent/engine/tree"
	"github.com/pdiffagent/pdiffagent/sysio/sysiotest"
	"github.com/pdiffagent/pdiffagent/wire"
)

// rawTree opens a tree session on ts's directory dir and returns its
// Target, whose requests a test sends as a hostile client would.
func rawTree(t *testing.T, ts *testServer, dir string) *remoteTarget {
	return rawTreeOp(t, ts, dir, wire.OpTree)
}

func rawTreeOp(t *testing.T, ts *testServer, dir string, op wire.Op) *remoteTarget {
	t.Helper()
	cfg, err := ts.clientConfig(TransportTCP).populate(ts.Addr())
	if err != nil {
		t.Fatal(err)
	}
	c := &clientConn{cfg: cfg, hostport: ts.Addr(), tlsConf: clientTLSConfig(cfg.Identity, cfg.Pin, nil)}
	sess, err := engine.Session{BlockSize: 4096, Workers: 2}.Normalize()
	if err != nil {
		t.Fatal(err)
	}
	p := engine.Params{Session: sess}
	rt, err := openTree(context.Background(), c, openMessage(op, dir, p), p)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.close(context.Background(), nil) })
	return rt
}

// TestTreeHostileClient: a client that sends "..", absolute names, odd
// bytes, and paths through symlinks planted in the tree (to a directory
// outside the server's root, and up out of it) creates, changes and
// removes nothing outside the root, and its session survives every
// refusal; a name with a newline or invalid UTF-8 is just a name.
func TestTreeHostileClient(t *testing.T) {
	ts := startServer(t, func(c *ServerConfig) { c.AllowHardlinks = true })
	outside := t.TempDir()
	writeFile(t, filepath.Join(outside, "secret"), []byte("keep"))
	if err := os.MkdirAll(filepath.Join(ts.root, "dst"), 0o755); err != nil {
		t.Fatal(err)
	}
	for name, target := range map[string]string{"abs": outside, "up": "../..", "dir": filepath.Join(outside)} {
		if err := os.Symlink(target, filepath.Join(ts.root, "dst", name)); err != nil {
			t.Fatal(err)
		}
	}
	before, err := sysiotest.TreeDiff(outside, outside, sysiotest.TreeOptions{})
	if err != nil || len(before) != 0 {
		t.Fatalf("outside: %v %v", before, err)
	}
	snapshot := t.TempDir()
	copyTree(t, outside, snapshot)

	rt := rawTree(t, ts, "dst")
	hostile := []string{"../x", "a/../../x", "/tmp/x", "/", "..", "abs/x", "abs/secret", "up/x", "dir/x", "abs/../x", "x\x00y"}
	ops := []uint8{wire.TreeMkdir, wire.TreeSymlink, wire.TreeLink, wire.TreeRemove, wire.TreeRmdir, wire.TreeMeta}
	for _, p := range hostile {
		for _, op := range ops {
			req := &wire.TreeReq{Op: op, Path: p, Arg: "abs/secret", Mode: 0o777, ModTime: 1, Flags: wire.TreeMetaMode | wire.TreeMetaTime}
			if op == wire.TreeSymlink {
				req.Arg = "/etc/passwd"
			}
			if err := rt.op(req); err == nil && !strings.HasPrefix(p, "abs/") && p != "abs/../x" {
				t.Errorf("op %d on %q: accepted", op, p)
			}
		}
		if ents, err := listAll(rt, p); err == nil && len(ents) > 0 {
			t.Errorf("list %q: %d entries of what is outside", p, len(ents))
		}
		if _, err := rt.Lstat(p); err == nil && !strings.HasPrefix(p, "abs") && p != "up/x" {
			t.Errorf("stat %q: found", p)
		}
	}
	// Files through the planted links are refused, and the session lives on.
	src := filepath.Join(t.TempDir(), "f")
	writeFile(t, src, []byte("overwrite"))
	opt := engine.Options{}
	for _, p := range []string{"abs/secret", "up/x", "dir/new", "../x", "/x"} {
		if _, err := rt.SyncFile(context.Background(), src, p, sysEntry(), sysEntry(), engine.Params{}, opt, false); err == nil {
			t.Errorf("file %q: accepted", p)
		}
	}
	// Odd names are names, made inside the tree.
	for _, name := range []string{"new\nline", "bad\xff\xfeutf8", " lead", "-dash"} {
		if err := rt.Mkdir(name); err != nil {
			t.Errorf("mkdir %q: %v", name, err)
		}
		if _, err := os.Lstat(filepath.Join(ts.root, "dst", name)); err != nil {
			t.Errorf("%q not made inside the tree: %v", name, err)
		}
	}
	if _, err := rt.SyncFile(context.Background(), src, "new\nline/f", sysEntry(), sysEntry(), engine.Params{}, opt, false); err != nil {
		t.Errorf("a file in an odd directory: %v", err)
	}
	if err := rt.Remove("abs"); err != nil { // the link, not what it points to
		t.Errorf("remove the planted link: %v", err)
	}
	if rt.broken != nil {
		t.Errorf("the session broke: %v", rt.broken)
	}
	sysiotest.TreeEqual(t, snapshot, outside, sysiotest.TreeOptions{})
	for _, p := range []string{filepath.Join(filepath.Dir(ts.root), "x"), filepath.Join(ts.root, "x")} {
		if _, err := os.Lstat(p); err == nil {
			t.Errorf("%s was made", p)
		}
	}
	if b := readFile(t, filepath.Join(outside, "secret")); string(b) != "keep" {
		t.Errorf("outside file now %q", b)
	}
}

// TestTreeFailedFile: a file whose engine run fails (here: cancelled on
// the client's side) costs its worker streams, not the session: the next
// file attaches new ones and is synced.
func TestTreeFailedFile(t *testing.T) {
	ts := startServer(t, nil)
	rt := rawTree(t, ts, "dst")
	dir := t.TempDir()
	body := randomBytes(11, 3*4096+5)
	for _, n := range []string{"a", "b", "c"} {
		writeFile(t, filepath.Join(dir, n), body)
	}
	ctx := context.Background()
	if _, err := rt.SyncFile(ctx, filepath.Join(dir, "a"), "a", sysEntry(), sysEntry(), engine.Params{}, engine.Options{}, false); err != nil {
		t.Fatalf("a: %v", err)
	}
	first := rt.pool.streams[0]
	if first == nil {
		t.Fatal("a ran on no attached stream")
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := rt.SyncFile(cancelled, filepath.Join(dir, "b"), "b", sysEntry(), sysEntry(), engine.Params{}, engine.Options{}, false); err == nil {
		t.Fatal("b: a cancelled run succeeded")
	}
	if rt.pool.streams[0] != nil {
		t.Fatal("the failed file's worker stream is kept")
	}
	if _, err := rt.SyncFile(ctx, filepath.Join(dir, "c"), "c", sysEntry(), sysEntry(), engine.Params{}, engine.Options{}, false); err != nil {
		t.Fatalf("c, after the failed file: %v", err)
	}
	if s := rt.pool.streams[0]; s == nil || s == first || rt.broken != nil {
		t.Errorf("c did not run on new worker streams of the same session (broken: %v)", rt.broken)
	}
	for _, n := range []string{"a", "c"} {
		if b := readFile(t, filepath.Join(ts.root, "dst", n)); string(b) != string(body) {
			t.Errorf("%s differs on the server", n)
		}
	}
}

func sysEntry() (e tree.Entry) { return }

// copyTree copies the files of a flat directory, with their times.
func copyTree(t *testing.T, from, to string) {
	t.Helper()
	ents, err := os.ReadDir(from)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		fi, err := e.Info()
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(to, e.Name())
		writeFile(t, p, readFile(t, filepath.Join(from, e.Name())))
		if err := os.Chmod(p, fi.Mode().Perm()); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, fi.ModTime(), fi.ModTime()); err != nil {
			t.Fatal(err)
		}
	}
	fi, err := os.Stat(from)
	if err != nil {
		t.Fatal(err)
	}
	os.Chmod(to, fi.Mode().Perm())
	if err := os.Chtimes(to, fi.ModTime(), fi.ModTime()); err != nil {
		t.Fatal(err)
	}
}

// TestTreePullChangesNothing: a pull session (which a read-only server
// serves) refuses every operation that would change the tree, and a
// file sent into it; the tree is as it was.
func TestTreePullChangesNothing(t *testing.T) {
	ts := startServer(t, func(c *ServerConfig) { c.ReadOnly = true })
	src := filepath.Join(ts.root, "src")
	os.Mkdir(src, 0o755)
	sysiotest.MakeTree(t, src, sysiotest.TreeSpec{Seed: 2, Files: 5, MaxSize: 4096, Dirs: 2, Depth: 1, Symlinks: 1})
	snapshot := filepath.Join(t.TempDir(), "snap")
	if _, err := PullTree(context.Background(), ts.clientConfig(TransportTCP), ts.remote("src/"), snapshot, treeOptions()); err != nil {
		t.Fatal(err)
	}
	rt := rawTreeOp(t, ts, "src", wire.OpTreePull)
	ents, err := listAll(rt, ".")
	if err != nil || len(ents) == 0 {
		t.Fatalf("list: %v, %d entries", err, len(ents))
	}
	for _, op := range []uint8{wire.TreeMkdir, wire.TreeSymlink, wire.TreeLink, wire.TreeRemove, wire.TreeRmdir, wire.TreeMeta} {
		req := &wire.TreeReq{Op: op, Path: ents[0].Name, Arg: "x", Mode: 0o777, ModTime: 1, Flags: wire.TreeMetaMode | wire.TreeMetaTime}
		if err := rt.op(req); err == nil {
			t.Errorf("op %d in a pull session: accepted", op)
		}
	}
	f := filepath.Join(t.TempDir(), "f")
	writeFile(t, f, []byte("overwrite"))
	if _, err := rt.SyncFile(context.Background(), f, ents[0].Name, sysEntry(), sysEntry(), engine.Params{}, engine.Options{}, false); err == nil {
		t.Error("a file pushed into a pull session: accepted")
	}
	if rt.broken != nil {
		t.Errorf("the session broke: %v", rt.broken)
	}
	sysiotest.TreeEqual(t, snapshot, src, sysiotest.TreeOptions{})
}

// listAll is dir's whole listing from the server.
func listAll(rt *remoteTarget, dir string) ([]tree.Dirent, error) {
	l, err := rt.List(dir)
	if err != nil {
		return nil, err
	}
	defer l.Close()
	var ents []tree.Dirent
	for {
		d, ok := l.Next()
		if !ok {
			return ents, l.Err()
		}
		ents = append(ents, d)
	}
}
