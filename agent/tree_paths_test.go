package agent

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pdiffagent/pdiffagent/engine"
	"github.com/pdiffagent/pdiffagent/sysio/sysiotest"
	"github.com/pdiffagent/pdiffagent/wire"
)

// TestTreeSymlinkedDirsInTarget: where the target tree, the server's in
// a push or the local one in a pull, holds symlinks to a directory and a
// file outside it and the source holds a real directory and file of those
// names, the links are replaced: nothing is written through them, and
// what is outside is as it was.
func TestTreeSymlinkedDirsInTarget(t *testing.T) {
	for _, op := range []string{"push", "pull"} {
		t.Run(op, func(t *testing.T) {
			ts := startServer(t, nil)
			local, outside := t.TempDir(), t.TempDir()
			src, dst := local, filepath.Join(ts.root, "dst")
			if op == "pull" {
				src, dst = filepath.Join(ts.root, "src"), filepath.Join(local, "dst")
			}
			os.MkdirAll(filepath.Join(src, "dir/sub"), 0o755)
			os.MkdirAll(dst, 0o755)
			writeFile(t, filepath.Join(src, "dir/f"), []byte("from source"))
			writeFile(t, filepath.Join(src, "dir/sub/g"), []byte("from source"))
			writeFile(t, filepath.Join(src, "file"), []byte("from source"))
			os.MkdirAll(filepath.Join(outside, "sub"), 0o755)
			for _, f := range []string{"f", "sub/g", "file"} {
				writeFile(t, filepath.Join(outside, f), []byte("outside"))
			}
			os.Symlink(outside, filepath.Join(dst, "dir"))
			os.Symlink(filepath.Join(outside, "file"), filepath.Join(dst, "file"))
			var err error
			if op == "push" {
				_, err = PushTree(context.Background(), ts.clientConfig(TransportTCP), src+"/", ts.remote("dst"), treeOptions())
			} else {
				_, err = PullTree(context.Background(), ts.clientConfig(TransportTCP), ts.remote("src/"), dst, treeOptions())
			}
			if err != nil {
				t.Fatal(err)
			}
			sysiotest.TreeEqual(t, src, dst, sysiotest.TreeOptions{IgnoreRoot: true})
			for _, f := range []string{"f", "sub/g", "file"} {
				if b := readFile(t, filepath.Join(outside, f)); string(b) != "outside" {
					t.Errorf("%s outside the target: %q, written through a symlink", f, b)
				}
			}
		})
	}
}

// TestTreePullHostileClient: a pull session's client that names files
// and directories with "..", absolute paths, or through symlinks planted
// in the served tree (to a directory outside the server's root, and up
// out of it) is sent nothing of what lies outside, and its session lives
// on; names with a newline or invalid UTF-8 are just names.
func TestTreePullHostileClient(t *testing.T) {
	ts := startServer(t, func(c *ServerConfig) { c.ReadOnly = true })
	outside := t.TempDir()
	writeFile(t, filepath.Join(outside, "secret"), []byte("secret"))
	src := filepath.Join(ts.root, "src")
	os.MkdirAll(src, 0o755)
	writeFile(t, filepath.Join(filepath.Dir(ts.root), "beside"), []byte("secret"))
	// up leads out of the server's root: a tree's files are read through
	// the server's jail, which is the root (a pull may read anything
	// beneath it), its entries through the tree's os.Root.
	for name, target := range map[string]string{"abs": outside, "up": "../..", "file": filepath.Join(outside, "secret")} {
		if err := os.Symlink(target, filepath.Join(src, name)); err != nil {
			t.Fatal(err)
		}
	}
	for _, name := range []string{"new\nline", "bad\xff\xfeutf8"} {
		writeFile(t, filepath.Join(src, name), []byte("odd "+name))
	}
	rt := rawTreeOp(t, ts, "src", wire.OpTreePull)
	got := filepath.Join(t.TempDir(), "got")
	for _, p := range []string{"../beside", "../../secret", "abs/secret", "up/beside", "file", "/etc/passwd", "..", "abs/../../beside", "x\x00y"} {
		if _, err := rt.fetch(context.Background(), p, got, sysEntry(), sysEntry(), engine.Params{}, engine.Options{}, false); err == nil {
			t.Errorf("get %q: sent", p)
		}
		if b, err := os.ReadFile(got); err == nil && string(b) == "secret" {
			t.Fatalf("get %q: the secret came through", p)
		}
		if ents, err := listAll(rt, p); err == nil && len(ents) > 0 {
			t.Errorf("list %q: %d entries of what is outside", p, len(ents))
		}
	}
	for _, name := range []string{"new\nline", "bad\xff\xfeutf8"} {
		os.Remove(got)
		if _, err := rt.fetch(context.Background(), name, got, sysEntry(), sysEntry(), engine.Params{}, engine.Options{}, false); err != nil {
			t.Errorf("get %q: %v", name, err)
		} else if b := readFile(t, got); string(b) != "odd "+name {
			t.Errorf("get %q: %q", name, b)
		}
	}
	if rt.broken != nil {
		t.Errorf("the session broke: %v", rt.broken)
	}
}

// TestTreePullHostileServer: a server whose listing names an entry "..",
// "../x", "a/b" or twice (out of order), which a pull's walker would
// join to its local target, gets the session broken: nothing is made
// outside the local target.
func TestTreePullHostileServer(t *testing.T) {
	ts := startServer(t, nil)
	src := filepath.Join(ts.root, "src")
	for _, d := range []string{"d1", "d2", "d3"} {
		os.MkdirAll(filepath.Join(src, d), 0o755)
		writeFile(t, filepath.Join(src, d, "f"), []byte("x"))
	}
	for _, evil := range []string{"../escaped", "..", "sub/../../escaped", "d1", "/tmp/escaped"} {
		t.Run(evil, func(t *testing.T) {
			hook := func(e *wire.TreeEntry) {
				if e.Name == "d2" {
					e.Name = evil // "d1": the same name twice
				}
			}
			testHookTreeEntry.Store(&hook)
			t.Cleanup(func() { testHookTreeEntry.Store(nil) })
			base := t.TempDir()
			dst := filepath.Join(base, "in", "dst")
			os.MkdirAll(dst, 0o755)
			_, err := PullTree(context.Background(), ts.clientConfig(TransportTCP), ts.remote("src/"), dst, treeOptions())
			if err == nil || !strings.Contains(err.Error(), "listing") {
				t.Errorf("pull: %v, want the listing refused", err)
			}
			for _, p := range []string{filepath.Join(base, "in", "escaped"), filepath.Join(base, "escaped"), "/tmp/escaped"} {
				if _, err := os.Lstat(p); err == nil {
					t.Errorf("%s was made", p)
				}
			}
			if ents, _ := os.ReadDir(filepath.Join(base, "in")); len(ents) != 1 {
				t.Errorf("%d entries beside the target", len(ents))
			}
		})
	}
}
