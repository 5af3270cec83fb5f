package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pdiffagent/pdiffagent/engine"
	"github.com/pdiffagent/pdiffagent/sysio/sysiotest"
)

// Fault tests of trees over the network, push and pull, against a real
// server on 127.0.0.1: a client killed with SIGKILL in the middle of the
// tree (real processes: faultproc_test.go), a file that changes while it
// is synced, and a path that cannot be written or read; each time the
// failed path is reported by name, the rest of the tree completes, and a
// rerun converges.

// faultTreeSpec is the tree of the kill tests: small files in a few
// levels, links, odd names.
var faultTreeSpec = sysiotest.TreeSpec{Seed: 21, Files: 60, MinSize: 8 << 10, MaxSize: 64 << 10, Dirs: 6, Depth: 3,
	Symlinks: 3, HardLinks: 2, Modes: true, OddNames: true}

// staleCopy turns the copy of tr in dir into an older version of it:
// every file (each inode once) differs in its first byte and has an older
// mtime, so that a sync reads and compares each.
func staleCopy(t *testing.T, dir string, tr *sysiotest.Tree) {
	t.Helper()
	old := time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, f := range tr.Files {
		if slices.Contains(tr.HardLinks, f) {
			continue // its inode is another name's, changed once
		}
		p := filepath.Join(dir, filepath.FromSlash(f))
		b := sysiotest.ReadFile(t, p)
		b[0] ^= 0xff
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, b, fi.Mode()); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, old, old); err != nil {
			t.Fatal(err)
		}
	}
}

// TestTreeKilledNetwork: a client killed with SIGKILL in the middle of a
// tree push (its source being hashed and sent; over TCP and QUIC) or pull
// (its old copy being hashed and rewritten) leaves a partial tree; the
// server ends the session, and the rerun converges to an identical tree.
func TestTreeKilledNetwork(t *testing.T) {
	for _, run := range []string{"push", "pull", "push over quic"} {
		t.Run(run, func(t *testing.T) {
			t.Parallel() // each has its own processes, identities and files
			common := []string{"-H", "-b", "4K", "-c", "2"}
			op, transport, _ := strings.Cut(run, " over ")
			if transport != "" {
				common = append(common, "--transport", transport)
			}
			e := newFaultEnv(t)
			root, local := filepath.Join(e.dir, "root"), filepath.Join(e.dir, "local")
			os.Mkdir(root, 0o755)
			os.Mkdir(local, 0o755)
			// Over QUIC (UDP: no FIN) the server learns that its client
			// is gone only when the connection has been idle for
			// --idle-timeout (60 s by default; 5 s here).
			srv := e.startServer(root, "--allow-hardlinks", "--idle-timeout", "5s")
			var src, dst string
			var args []string
			if op == "push" {
				src, dst = local, filepath.Join(root, "dst")
				sysiotest.MakeTree(t, src, faultTreeSpec)
				args = append([]string{"push"}, append(common, src+"/", srv.remote("dst"))...)
			} else {
				src, dst = filepath.Join(root, "src"), local
				os.Mkdir(src, 0o755)
				sysiotest.MakeTree(t, src, faultTreeSpec)
				staleCopy(t, dst, sysiotest.MakeTree(t, dst, faultTreeSpec))
				args = append([]string{"pull"}, append(common, srv.remote("src/"), dst)...)
			}
			c := e.clientHeld(40, args...)
			c.waitHeld(t)
			c.kill()
			killed := time.Now()
			ended := 1 // the killed client's session
			if transport != "" {
				// A rerun at once, while the server still holds the
				// dead session's file (QUIC: until its idle timeout),
				// reports it busy by name and completes the rest.
				re := e.run(args...)
				ended++
				switch msg := re.stderr.String(); {
				case re.code == exitOK:
					t.Logf("the rerun at once came after the server had ended the session")
				case re.code != exitError || !strings.Contains(msg, "busy with another transfer") || !strings.Contains(msg, "run again"):
					t.Errorf("rerun at once: exit %d, %s; want 1 and the file in flight busy", re.code, msg)
				}
			}
			// The server ends the dead client's session (and unlocks its
			// files) once it sees the connections gone; a rerun before
			// that finds the file in flight busy.
			at, ok := srv.waitLog("tree session ended", ended-1, time.Minute)
			if !ok {
				t.Fatalf("the server did not end the killed client's session:\n%s", srv.stderr.String())
			}
			t.Logf("the server ended the session %v after the kill", at.Sub(killed))
			if diffs, _ := sysiotest.TreeDiff(src, dst, sysiotest.TreeOptions{}); len(diffs) == 0 {
				t.Fatal("the killed client left an identical tree: it was not interrupted")
			}
			e.mustRun(args...)
			sysiotest.TreeEqual(t, src, dst, sysiotest.TreeOptions{})
			if srv.exited() {
				t.Fatalf("the server died: %s", srv.stderr.String())
			}
		})
	}
}

// treeNet is a server in this process and the flags of a client of it.
type treeNet struct {
	root   string
	addr   string
	remote []string // --identity, --pin
}

func newTreeNet(t *testing.T) *treeNet {
	n := &treeNet{root: filepath.Join(t.TempDir(), "root")}
	os.Mkdir(n.root, 0o755)
	addr, pin, cdir := testListen(t, n.root, nil)
	n.addr, n.remote = addr, []string{"--identity", cdir, "--pin", pin}
	return n
}

// run runs a tree push or pull (args after the command's name) with
// --json and returns its exit status and report.
func (n *treeNet) run(t *testing.T, op string, args ...string) (int, treeResult) {
	t.Helper()
	var code int
	args = append(append([]string{op, "--json", "-b", "4K", "-c", "2"}, n.remote...), args...)
	out := captureStdout(t, func() { code, _ = execute(t, args...) })
	var r treeResult
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("%v: output %q: %v", args, out, err)
	}
	return code, r
}

// sides makes the source and target directories of op, the source with
// spec's tree: a push's source is local and its target the server's
// root/dst; a pull's the other way. args are the push's or pull's.
func (n *treeNet) sides(t *testing.T, op string, spec sysiotest.TreeSpec) (src, dst string, args []string) {
	t.Helper()
	local := t.TempDir()
	if op == "push" {
		src, dst = local, filepath.Join(n.root, "dst")
		args = []string{src + "/", n.addr + "/dst"}
	} else {
		src, dst = filepath.Join(n.root, "src"), filepath.Join(local, "dst")
		args = []string{n.addr + "/src/", dst}
		os.Mkdir(src, 0o755)
	}
	sysiotest.MakeTree(t, src, spec)
	return src, dst, args
}

// checkFailed checks a partial tree's exit status and report: exit 1,
// exactly the paths of want failed, each with an error containing its
// text (or one of its texts separated by "|").
func checkFailed(t *testing.T, code int, r treeResult, want map[string]string) {
	t.Helper()
	if code != exitError || r.Identical || r.Error == "" || r.FailedCount != int64(len(want)) || len(r.Failed) != len(want) {
		t.Fatalf("exit %d, %+v: want exit 1 and %d failed paths %v", code, r, len(want), want)
	}
	for _, f := range r.Failed {
		text, ok := want[f.Path]
		if ok {
			ok = slices.ContainsFunc(strings.Split(text, "|"), func(s string) bool { return strings.Contains(f.Error, s) })
		}
		if !ok {
			t.Errorf("failed %q: %q; want %v", f.Path, f.Error, want)
		}
	}
}

// TestTreeChangedMidSyncNetwork: a source file that changes while it is
// synced (its first block is being hashed by the sender: the client of a
// push, the server of a pull) is reported by name, the rest of the tree
// completes, the exit status is 1 and --json lists it; the rerun syncs it.
func TestTreeChangedMidSyncNetwork(t *testing.T) {
	for _, op := range []string{"push", "pull"} {
		t.Run(op, func(t *testing.T) {
			n := newTreeNet(t)
			src, dst, args := n.sides(t, op, sysiotest.TreeSpec{Seed: 22, Files: 30, MaxSize: 20 << 10, Dirs: 4, Depth: 2, Symlinks: 2})
			victim := filepath.Join(src, "victim")
			marker := bytes.Repeat([]byte("V"), 4096)
			sysiotest.WriteFile(t, victim, append(marker, marker...))
			var once sync.Once
			engine.TestHookWeak = func(_ context.Context, w engine.WeakFunc, _ *engine.Progress) engine.WeakFunc {
				return func(b []byte) uint64 {
					if bytes.Equal(b, marker) {
						once.Do(func() { // the sender holds here while the file grows
							sysiotest.AppendFile(t, victim, []byte("grown meanwhile"))
						})
					}
					return w(b)
				}
			}
			t.Cleanup(func() { engine.TestHookWeak = nil })
			code, r := n.run(t, op, args...)
			checkFailed(t, code, r, map[string]string{"victim": "changed during the sync"})
			if r.Files != 31 || r.FilesChanged != 30 {
				t.Errorf("%+v: want 31 files, the 30 others synced", r)
			}
			engine.TestHookWeak = nil
			skip := func(rel string, _ bool) bool { return rel == "victim" }
			sysiotest.TreeEqual(t, src, dst, sysiotest.TreeOptions{Exclude: skip, IgnoreRoot: true})
			if code, r := n.run(t, op, args...); code != exitOK || !r.Identical {
				t.Fatalf("rerun: exit %d, %+v", code, r)
			}
			sysiotest.TreeEqual(t, src, dst, sysiotest.TreeOptions{})
		})
	}
}

// TestTreePathFailsNetwork: paths that cannot be synced (a target
// directory in the way of a source file, which only --delete replaces;
// a target file that cannot be written, even by root: immutable; a
// source file that cannot be read, where permissions apply) are reported
// by name, exit status 1 and --json lists them, and the rest of the tree
// completes; once the causes are gone, a rerun converges.
func TestTreePathFailsNetwork(t *testing.T) {
	for _, op := range []string{"push", "pull"} {
		t.Run(op, func(t *testing.T) {
			n := newTreeNet(t)
			src, dst, args := n.sides(t, op, sysiotest.TreeSpec{Seed: 23, Files: 40, MaxSize: 10 << 10, Dirs: 5, Depth: 2})
			sysiotest.WriteFile(t, filepath.Join(src, "blocked"), []byte("file"))
			os.MkdirAll(filepath.Join(dst, "blocked/inside"), 0o755)
			want := map[string]string{"blocked": "directory"}
			if os.Geteuid() != 0 {
				sysiotest.WriteFile(t, filepath.Join(src, "secret"), []byte("no"))
				os.Chmod(filepath.Join(src, "secret"), 0)
				want["secret"] = "permission denied"
			} else if immutableTarget(t, src, dst, "frozen") {
				want["frozen"] = "not permitted|permission denied" // EPERM
			}
			code, r := n.run(t, op, args...)
			checkFailed(t, code, r, want)
			skip := func(rel string, _ bool) bool { return want[strings.Split(rel, "/")[0]] != "" }
			sysiotest.TreeEqual(t, src, dst, sysiotest.TreeOptions{Exclude: skip, IgnoreRoot: true})

			os.RemoveAll(filepath.Join(dst, "blocked"))
			os.Chmod(filepath.Join(src, "secret"), 0o644)
			exec.Command("chattr", "-i", filepath.Join(dst, "frozen")).Run()
			if code, r := n.run(t, op, args...); code != exitOK || !r.Identical {
				t.Fatalf("rerun: exit %d, %+v", code, r)
			}
			sysiotest.TreeEqual(t, src, dst, sysiotest.TreeOptions{})
		})
	}
}

// immutableTarget gives the source a file name and the target an older
// copy of it made immutable, which even root cannot open for writing
// (EPERM); false where chattr cannot.
func immutableTarget(t *testing.T, src, dst, name string) bool {
	t.Helper()
	sysiotest.WriteFile(t, filepath.Join(src, name), []byte("new content"))
	p := filepath.Join(dst, name)
	sysiotest.WriteFile(t, p, []byte("old"))
	if !sysiotest.Immutable(t, p) {
		os.Remove(filepath.Join(src, name))
		os.Remove(p)
		return false
	}
	return true
}

// TestTreeRetries: --retries runs a tree again when it failed as a whole
// for a reason worth retrying: a push of a tree to a server that is not
// there yet (connection refused) says so, runs again once the server is
// up, and ends with an identical tree; a partial tree is not retried.
func TestTreeRetries(t *testing.T) {
	ids := newTestIDs(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there until the retry's wait
	root, src := t.TempDir(), t.TempDir()
	sysiotest.MakeTree(t, src, sysiotest.TreeSpec{Seed: 25, Files: 20, MaxSize: 8 << 10, Dirs: 2, Depth: 1})
	read, restore := captureStderr(t)
	defer restore()
	args := []string{"push", "-q", "--retries", "1", "--identity", ids.clientDir, "--pin", ids.pin(), src + "/", addr + "/dst"}
	codes := make(chan int, 1)
	go func() {
		code, _ := execute(t, args...)
		codes <- code
	}()
	if !sysiotest.WaitUntil(time.Minute, func() bool { return strings.Contains(read(), "run 1 of 2 failed (network)") }) {
		t.Fatalf("no retry announced: %q", read())
	}
	ids.listen(t, addr, root, nil)
	if code := <-codes; code != exitOK {
		t.Fatalf("exit %d: %s", code, read())
	}
	restore()
	sysiotest.TreeEqual(t, src, filepath.Join(root, "dst"), sysiotest.TreeOptions{})

	// A partial tree: reported at once, not run again.
	sysiotest.WriteFile(t, filepath.Join(src, "blocked"), []byte("b"))
	os.MkdirAll(filepath.Join(root, "dst", "blocked", "x"), 0o755)
	read, restore = captureStderr(t)
	defer restore()
	if code, _ := execute(t, args...); code != exitError || strings.Contains(read(), "running again") {
		t.Errorf("partial tree: exit %d, %q; want 1, no retry", code, read())
	}
}
