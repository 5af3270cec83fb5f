package main

import (
	"fmt"
	"os"
	osuser "os/user"
	"path/filepath"
	"testing"

	"github.com/pdiffagent/pdiffagent/sysio/sysiotest"
)

// TestSSHTree: a tree pushed over ssh (two pipes) to serve --stdio, and
// pulled back, the rules as over TCP.
func TestSSHTree(t *testing.T) {
	dir := t.TempDir()
	jail := filepath.Join(dir, "jail")
	if err := os.Mkdir(jail, 0o755); err != nil {
		t.Fatal(err)
	}
	s := startSSHD(t, fmt.Sprintf("env %s=1 %s serve --stdio --root %s", asCLIEnv, selfBinary(t), jail))
	src := filepath.Join(dir, "src")
	os.Mkdir(src, 0o755)
	sysiotest.MakeTree(t, src, sysiotest.TreeSpec{Seed: 4, Files: 20, MaxSize: 30 << 10, Dirs: 3, Depth: 2, Symlinks: 2, Modes: true})
	me, err := osuser.Current()
	if err != nil {
		t.Fatal(err)
	}
	far := filepath.Join(dir, "far")
	common := []string{"-q", "-b", "4K", "-c", "3", "--ssh-connections", "2", "-e", s.rsh(s.key), "--remote-path", "env " + asCLIEnv + "=1 " + selfBinary(t)}
	back := filepath.Join(dir, "back")
	for _, args := range [][]string{
		append([]string{"push", src + "/", me.Username + "@127.0.0.1:" + far}, common...),
		append([]string{"pull", me.Username + "@127.0.0.1:" + far + "/", back}, common...),
	} {
		if code, msg := execute(t, args...); code != exitOK {
			t.Fatalf("%q: exit %d: %s", args[:3], code, msg)
		}
	}
	sysiotest.TreeEqual(t, src, far, sysiotest.TreeOptions{})
	sysiotest.TreeEqual(t, src, back, sysiotest.TreeOptions{})
}
