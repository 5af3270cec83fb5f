package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pdiffagent/pdiffagent/sysio/sysiotest"
)

// TestSyncTreeCLI: sync of a directory by the command line: the trailing
// slash rule, --json totals, a dry run's exit status 3 and deletion list,
// --exclude, and exit 1 with the failed path in --json.
func TestSyncTreeCLI(t *testing.T) {
	dir := t.TempDir()
	src, dst := filepath.Join(dir, "src"), filepath.Join(dir, "dst")
	os.Mkdir(src, 0o755)
	sysiotest.MakeTree(t, src, sysiotest.TreeSpec{Seed: 7, Files: 25, MaxSize: 50 << 10, Dirs: 4, Depth: 2, Symlinks: 2})
	sysiotest.WriteFile(t, filepath.Join(src, "skip.tmp"), []byte("t"))

	var code int
	out := captureStdout(t, func() { code, _ = execute(t, "sync", "--json", "-b", "4K", "--exclude", "*.tmp", src, dst) })
	var r treeResult
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("output %q: %v", out, err)
	}
	if code != exitOK || !r.Identical || r.Files != 25 || r.FilesChanged != 25 || r.Excluded != 1 {
		t.Fatalf("exit %d, %+v", code, r)
	}
	got := filepath.Join(dst, "src") // no trailing slash: the directory itself
	sysiotest.TreeEqual(t, src, got, sysiotest.TreeOptions{Exclude: func(rel string, _ bool) bool { return rel == "skip.tmp" }})

	sysiotest.WriteFile(t, filepath.Join(got, "extra"), []byte("e"))
	out = captureStdout(t, func() { code, _ = execute(t, "sync", "-n", "--delete", "--exclude", "*.tmp", src+"/", got) })
	if code != exitDiffers || !strings.Contains(out, "would delete extra\n") {
		t.Fatalf("dry run: exit %d, output %q", code, out)
	}
	if code, msg := execute(t, "sync", "-q", "--delete", "--exclude", "*.tmp", src+"/", got); code != exitOK {
		t.Fatalf("sync --delete: exit %d: %s", code, msg)
	}
	sysiotest.TreeEqual(t, src, got, sysiotest.TreeOptions{Exclude: func(rel string, _ bool) bool { return rel == "skip.tmp" }})

	// A path that fails: a non-empty target directory where the source
	// has a file.
	sysiotest.WriteFile(t, filepath.Join(src, "blocked"), []byte("b"))
	os.MkdirAll(filepath.Join(got, "blocked/x"), 0o755)
	out = captureStdout(t, func() { code, _ = execute(t, "sync", "--json", src+"/", got) })
	r = treeResult{}
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("output %q: %v", out, err)
	}
	if code != exitError || r.FailedCount != 1 || len(r.Failed) != 1 || r.Failed[0].Path != "blocked" || r.ErrorCode == "" {
		t.Fatalf("exit %d, %+v", code, r)
	}
}

// TestSyncTreeKilled: a tree sync killed with SIGKILL in the middle of its
// files leaves a target that the rerun completes.
func TestSyncTreeKilled(t *testing.T) {
	e := newFaultEnv(t)
	src, dst := filepath.Join(e.dir, "src"), filepath.Join(e.dir, "dst")
	os.Mkdir(src, 0o755)
	sysiotest.MakeTree(t, src, sysiotest.TreeSpec{Seed: 8, Files: 60, MinSize: 8 << 10, MaxSize: 64 << 10, Dirs: 6, Depth: 3,
		HardLinks: 2, Symlinks: 2, Modes: true})
	p := e.startHeld(40, e.cliHome, e.bin, "sync", "-H", "-b", "4K", "-c", "2", "--progress=never", src+"/", dst)
	p.waitHeld(t)
	p.kill()
	if diffs, _ := sysiotest.TreeDiff(src, dst, sysiotest.TreeOptions{}); len(diffs) == 0 {
		t.Fatal("the killed sync left an identical tree: it was not interrupted")
	}
	if code, msg := execute(t, "sync", "-q", "-H", "-b", "4K", src+"/", dst); code != exitOK {
		t.Fatalf("rerun: exit %d: %s", code, msg)
	}
	sysiotest.TreeEqual(t, src, dst, sysiotest.TreeOptions{})
}

// TestPushTreeCLI: push of a directory over TCP, the same rules as sync
// (no trailing slash: the directory itself, into PATH/DIR), --json, a
// rerun that only stats, --delete; and pull of a directory.
func TestPushTreeCLI(t *testing.T) {
	dir := t.TempDir()
	root, src := filepath.Join(dir, "root"), filepath.Join(dir, "src")
	os.Mkdir(root, 0o755)
	os.Mkdir(src, 0o755)
	sysiotest.MakeTree(t, src, sysiotest.TreeSpec{Seed: 9, Files: 25, MaxSize: 50 << 10, Dirs: 4, Depth: 2, Symlinks: 2, Modes: true})
	addr, pin, cdir := testListen(t, root, nil)
	remote := []string{"--identity", cdir, "--pin", pin, "-b", "4K"}
	var code int
	out := captureStdout(t, func() { code, _ = execute(t, append([]string{"push", "--json", src, addr + "/backup"}, remote...)...) })
	var r treeResult
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("output %q: %v", out, err)
	}
	got := filepath.Join(root, "backup", "src")
	if code != exitOK || !r.Identical || r.Files != 25 || r.FilesChanged != 25 {
		t.Fatalf("exit %d, %+v", code, r)
	}
	sysiotest.TreeEqual(t, src, got, sysiotest.TreeOptions{})

	sysiotest.WriteFile(t, filepath.Join(got, "extra"), []byte("e"))
	out = captureStdout(t, func() {
		code, _ = execute(t, append([]string{"push", "--json", "--delete", src + "/", addr + "/backup/src"}, remote...)...)
	})
	r = treeResult{}
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("output %q: %v", out, err)
	}
	if code != exitOK || r.FilesSkipped != 25 || r.Deleted != 1 {
		t.Fatalf("rerun with --delete: exit %d, %+v", code, r)
	}
	sysiotest.TreeEqual(t, src, got, sysiotest.TreeOptions{})

	// Pull: "PATH/" is its contents; into a directory, "PATH" is the
	// directory itself.
	pulled := filepath.Join(dir, "pulled")
	if code, msg := execute(t, append([]string{"pull", "-q", addr + "/backup/src/", pulled}, remote...)...); code != exitOK {
		t.Fatalf("pull of a directory: exit %d, %q", code, msg)
	}
	sysiotest.TreeEqual(t, src, pulled, sysiotest.TreeOptions{})
	if code, msg := execute(t, append([]string{"pull", "-q", addr + "/backup/src", pulled}, remote...)...); code != exitOK {
		t.Fatalf("pull of a directory into a directory: exit %d, %q", code, msg)
	}
	sysiotest.TreeEqual(t, src, filepath.Join(pulled, "src"), sysiotest.TreeOptions{})
}
