package agent

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pdiffagent/pdiffagent/engine"
	"github.com/pdiffagent/pdiffagent/wire"
)

// Hostile paths over the network: every operation on a path that leaves the
// root, or names something other than a regular file, is refused with a
// reason that never names the root, and changes nothing.

// outsideFile makes a file outside every server root and returns a check
// that it is unchanged.
func outsideFile(t *testing.T) (path string, unchanged func() bool) {
	t.Helper()
	path = filepath.Join(t.TempDir(), "secret")
	writeFile(t, path, []byte("secret"))
	before, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return path, func() bool {
		fi, err := os.Stat(path)
		b, _ := os.ReadFile(path)
		return err == nil && string(b) == "secret" && fi.ModTime().Equal(before.ModTime()) && fi.Mode() == before.Mode()
	}
}

// refusedEverywhere tries push, dry-run push and pull of path on ts and
// wants each refused with code and words.
func refusedEverywhere(t *testing.T, ts *testServer, tr, path string, code uint16, words string) {
	t.Helper()
	local := filepath.Join(t.TempDir(), "local")
	writeFile(t, local, randomBytes(91, 3*testBlock))
	for _, op := range []string{"push", "dry-run push", "pull"} {
		p := testParams(2, 0)
		p.DryRun = op == "dry-run push"
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second) // a FIFO must not hang it
		var err error
		if op == "pull" {
			_, err = Pull(ctx, ts.clientConfig(tr), ts.remote(path), local, p, engine.Options{})
		} else {
			_, err = Push(ctx, ts.clientConfig(tr), local, ts.remote(path), p, engine.Options{})
		}
		cancel()
		var pe *engine.PeerError
		if !errors.As(err, &pe) || pe.Code != code || !strings.Contains(pe.Message, words) {
			t.Errorf("%s %q: %v; want code %d mentioning %q", op, path, err, code, words)
		} else if strings.Contains(strings.ReplaceAll(pe.Message, path, ""), ts.root) { // echoing the path is fine
			t.Errorf("%s %q: the refusal names the root: %s", op, path, pe.Message)
		}
	}
}

func TestHostilePaths(t *testing.T) {
	checkGoroutines(t)
	secret, unchanged := outsideFile(t)
	for _, tr := range transports {
		t.Run(tr, func(t *testing.T) {
			ts := startServer(t, nil)
			r := ts.root
			writeFile(t, filepath.Join(r, "plain"), []byte("plain"))
			if err := os.Mkdir(filepath.Join(r, "sub"), 0o755); err != nil {
				t.Fatal(err)
			}
			for name, to := range map[string]string{
				"escape": secret, "escape-rel": relTo(t, r, secret), "sub/up": "../..", "abs-inside": filepath.Join(r, "plain"),
			} {
				if err := os.Symlink(to, filepath.Join(r, name)); err != nil {
					t.Fatal(err)
				}
			}
			denied := map[string]string{
				"../secret":                             `contains ".."`,
				"sub/../../secret":                      `contains ".."`,
				"..":                                    `contains ".."`,
				"/etc/passwd":                           "is absolute",
				secret:                                  "is absolute",
				r + "/plain":                            "is absolute",
				"escape":                                "leads outside the server's root",
				"escape-rel":                            "leads outside the server's root",
				"abs-inside":                            "leads outside the server's root",
				"sub/up/" + filepath.Base(r) + "/plain": "leads outside the server's root",
				"sub":                                   "is a directory",
			}
			denied = addSpecialFiles(t, r, denied)
			for path, words := range denied {
				refusedEverywhere(t, ts, tr, path, wire.CodeDenied, words)
			}
			refusedEverywhere(t, ts, tr, "plain/x", wire.CodeNotFound, "not a directory")
			if !unchanged() {
				t.Fatal("the file outside the root changed")
			}
			if names := dirNames(t, filepath.Dir(secret)); names != "secret" {
				t.Errorf("files appeared outside the root: %s", names)
			}
			if got := readFile(t, filepath.Join(r, "plain")); string(got) != "plain" {
				t.Errorf("a refused path changed a file inside: %q", got)
			}
		})
	}
}

func relTo(t *testing.T, from, to string) string {
	rel, err := filepath.Rel(from, to)
	if err != nil {
		t.Fatal(err)
	}
	return rel
}

// TestSymlinkSwap: a target replaced by a symbolic link to outside the root
// while its push runs is not followed: the push keeps writing the file it
// opened, nothing outside changes, and the next push to that path is
// refused. The same holds when a parent directory is swapped.
func TestSymlinkSwap(t *testing.T) {
	checkGoroutines(t)
	secret, unchanged := outsideFile(t)
	for _, tr := range transports {
		for _, swapDir := range []bool{false, true} {
			name := tr + "/file"
			if swapDir {
				name = tr + "/dir"
			}
			t.Run(name, func(t *testing.T) {
				ts := startServer(t, nil)
				if err := os.Mkdir(filepath.Join(ts.root, "d"), 0o755); err != nil {
					t.Fatal(err)
				}
				target := filepath.Join(ts.root, "d", "secret")
				writeFile(t, target, randomBytes(92, 16*testBlock))
				data := randomBytes(93, 16*testBlock)
				g := newGate(2)
				errc := held(t, context.Background(), ts, tr, "d/secret", data, g)

				swapped, link, to := filepath.Join(ts.root, "d", "moved"), target, secret
				if swapDir {
					swapped, link, to = filepath.Join(ts.root, "d.moved"), filepath.Join(ts.root, "d"), filepath.Dir(secret)
				}
				if err := os.Rename(link, swapped); err != nil {
					t.Fatal(err)
				}
				if err := os.Symlink(to, link); err != nil {
					t.Fatal(err)
				}
				close(g.open)
				if err := <-errc; err != nil {
					t.Fatalf("push whose target was swapped: %v", err)
				}
				if !unchanged() {
					t.Fatal("the push wrote through the swapped-in symbolic link")
				}
				opened := filepath.Join(swapped, "secret")
				if !swapDir {
					opened = swapped
				}
				if got := readFile(t, opened); !bytes.Equal(got, data) {
					t.Error("the file the push opened does not hold the pushed data")
				}
				refusedEverywhere(t, ts, tr, "d/secret", wire.CodeDenied, "leads outside the server's root")
				if !unchanged() {
					t.Fatal("the file outside the root changed")
				}
			})
		}
	}
}

// TestReadOnlyHolds: a read-only server refuses every kind of push, to
// existing and new paths, and creates nothing.
func TestReadOnlyHolds(t *testing.T) {
	checkGoroutines(t)
	for _, tr := range transports {
		ts := startServer(t, func(c *ServerConfig) { c.ReadOnly = true })
		writeFile(t, filepath.Join(ts.root, "f"), []byte("server's"))
		for _, path := range []string{"f", "new"} {
			for _, whole := range []bool{false, true} {
				ns := rawStream(t, ts, tr)
				o := rawOpen(t, wire.OpPush, path, 3*testBlock, whole)
				ns.Send(o)
				_, err := expect[*wire.OpenReply](ns, time.Now().Add(5*time.Second))
				wantPeerError(t, err, wire.CodeDenied, "server is read-only")
			}
		}
		if names := dirNames(t, ts.root); names != "f" {
			t.Errorf("%s: a read-only server's root now holds %s", tr, names)
		}
		if got := readFile(t, filepath.Join(ts.root, "f")); string(got) != "server's" {
			t.Errorf("%s: a read-only server's file changed", tr)
		}
	}
}
