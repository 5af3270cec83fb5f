package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// Bad input from the command line is refused with a clear error before
// any target is created, and usage mistakes exit 2.
func TestBadInputRefused(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "F")
	data := bytes.Repeat([]byte("pdiffagent"), 10000)
	if err := os.WriteFile(f, data, 0o644); err != nil {
		t.Fatal(err)
	}
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	sub := filepath.Join(dir, "sub")
	if err := os.Mkdir(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	if code, msg := execute(t, "gen", "copy", f, f); code != exitError || !strings.Contains(msg, "same file") {
		t.Errorf("gen copy F F: exit %d, %q", code, msg)
	}
	if got, _ := os.ReadFile(f); !bytes.Equal(got, data) {
		t.Fatal("gen copy F F changed F")
	}
	for _, c := range []struct {
		src, dst, words string
	}{
		{fifo, filepath.Join(dir, "t1"), "is a FIFO"},
		{"/dev/zero", filepath.Join(dir, "t2"), "is a character device"},
		{f, sub, "is a directory"},        // a file onto a directory
		{sub + "/", f, "not a directory"}, // a tree onto a file
		{f, fifo, "is a FIFO"},
		{f, "/dev/null", "is a character device"},
	} {
		code, msg := execute(t, "sync", "-q", c.src, c.dst)
		if code != exitError || !strings.Contains(msg, c.words) {
			t.Errorf("sync %s %s: exit %d, %q; want an error saying it %s", c.src, c.dst, code, msg, c.words)
		}
		if strings.HasPrefix(c.dst, dir) && c.dst != fifo && c.dst != sub && c.dst != f {
			if _, err := os.Lstat(c.dst); err == nil {
				t.Errorf("sync %s %s created the target", c.src, c.dst)
			}
		}
	}
	for _, args := range [][]string{
		{"help", "nosuch"},
		{"bench", "--size", "0"},
		{"listen", "--root", dir, "--allow", "sha256:" + strings.Repeat("0", 64), "--max-sessions", "0"},
		{"listen", "--root", dir, "--allow", "sha256:" + strings.Repeat("0", 64), "--max-workers", "0"},
		{"listen", "--root", dir, "--allow", "sha256:" + strings.Repeat("0", 64), "--handshake-timeout", "-1s"},
		{"listen", "--root", dir, "--allow", "sha256:" + strings.Repeat("0", 64), "--verify-interval", "-1s"},
		{"listen", "--root", dir, "--allow", "sha256:" + strings.Repeat("0", 64), "--verify-interval", "1h", "--no-cache"},
	} {
		if code, msg := execute(t, args...); code != exitUsage {
			t.Errorf("%q: exit %d, %q; want %d", args, code, msg, exitUsage)
		}
	}
	if code, msg := execute(t, "help", "sync"); code != exitOK {
		t.Errorf("help sync: exit %d, %q", code, msg)
	}
}
