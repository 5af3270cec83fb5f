package sysio

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/pdiffagent/pdiffagent/sysio/sysiotest"
)

// tempFiles lists the replacement temporaries left in dir.
func tempFiles(t *testing.T, dir string) []string { return sysiotest.ListDir(t, dir, TempName) }

func TestReplaceMissingTarget(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "new.img")
	r, err := Replace(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if r.Existed {
		t.Error("Existed for a missing file")
	}
	if err := r.Fill(context.Background()); err != nil {
		t.Fatal(err)
	}
	if tmp := filepath.Base(r.TempPath()); !strings.HasPrefix(tmp, ".new.img.pdiffagent-") || !TempName(tmp) {
		t.Errorf("temporary file %q: want .new.img.pdiffagent-XXXXXXXX", tmp)
	}
	if !strings.Contains(r.File.Name(), path) || !strings.Contains(r.File.Name(), r.TempPath()) {
		t.Errorf("File.Name() = %q: want the target's and the temporary file's names (for errors)", r.File.Name())
	}
	if _, err := r.File.WriteAt([]byte("hello"), 0); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the target exists before Commit: %v", err)
	}
	if err := r.Commit(); err != nil {
		t.Fatal(err)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(path); err != nil || string(b) != "hello" {
		t.Errorf("after Commit: %q, %v", b, err)
	}
	if left := tempFiles(t, dir); len(left) != 0 {
		t.Errorf("temporary files left: %v", left)
	}
}

func TestReplaceFillCopiesAndKeepsHoles(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "old.img")
	const size = 8 << 20
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o640)
	if err != nil {
		t.Fatal(err)
	}
	head, tail := bytes.Repeat([]byte{1}, 1<<20), bytes.Repeat([]byte{2}, 4096)
	f.WriteAt(head, 0)
	f.WriteAt(tail, size-4096)
	f.Chmod(0o640)
	f.Close()
	want, _ := os.ReadFile(path)

	r, err := Replace(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if !r.Existed {
		t.Fatal("Existed false for an existing file")
	}
	if err := r.Fill(context.Background()); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(r.TempPath())
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("the temporary file is not a copy of the old one")
	}
	fi, _ := r.File.OS().Stat()
	if fi.Mode().Perm() != 0o640 {
		t.Errorf("temporary file mode %v, want the old file's 0640", fi.Mode().Perm())
	}
	if runtime.GOOS == "linux" && !r.Cloned {
		if h, err := r.File.NextHole(0); err == nil && h >= size {
			t.Logf("no hole in the copy (filesystem without SEEK_HOLE?)")
		} else if h != 1<<20 {
			t.Errorf("first hole of the copy at %d, want %d (the old file's)", h, 1<<20)
		}
	}
	t.Logf("cloned=%v", r.Cloned)
}

func TestReplaceCloseWithoutCommitKeepsOld(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "old.img")
	os.WriteFile(path, []byte("old content"), 0o644)
	r, err := Replace(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Fill(context.Background()); err != nil {
		t.Fatal(err)
	}
	r.File.WriteAt([]byte("NEW"), 0)
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(path); string(b) != "old content" {
		t.Errorf("old file changed: %q", b)
	}
	if left := tempFiles(t, dir); len(left) != 0 {
		t.Errorf("temporary files left: %v", left)
	}
	if err := r.Commit(); err == nil {
		t.Error("Commit after Close succeeded")
	}
}

func TestReplaceCommitReplaces(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "f")
	os.WriteFile(path, []byte("0123456789"), 0o600)
	r, err := Replace(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Fill(context.Background()); err != nil {
		t.Fatal(err)
	}
	r.File.WriteAt([]byte("AB"), 4)
	// A reader holding the old file keeps seeing it whole.
	old, _ := os.Open(path)
	defer old.Close()
	if err := r.Commit(); err != nil {
		t.Fatal(err)
	}
	if r.File.Name() != path {
		t.Errorf("File.Name() after Commit = %q, want %q", r.File.Name(), path)
	}
	r.Close()
	if b, _ := os.ReadFile(path); string(b) != "0123AB6789" {
		t.Errorf("after Commit: %q", b)
	}
	if b, _ := io.ReadAll(old); string(b) != "0123456789" {
		t.Errorf("an open reader of the old file sees %q", b)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", fi.Mode().Perm())
	}
}

func TestReplaceRefusesLinksAndDirectories(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "real"), []byte("x"), 0o644)
	if err := os.Symlink("real", filepath.Join(dir, "link")); err != nil {
		t.Skip(err)
	}
	os.Mkdir(filepath.Join(dir, "sub"), 0o755)
	if _, err := Replace(filepath.Join(dir, "link"), Options{}); !errors.Is(err, ErrSymlink) {
		t.Errorf("symlink: %v, want ErrSymlink", err)
	}
	if _, err := Replace(filepath.Join(dir, "sub"), Options{}); !errors.Is(err, ErrNotRegular) {
		t.Errorf("directory: %v, want ErrNotRegular", err)
	}
	if _, err := Replace(filepath.Join(dir, "nodir", "f"), Options{}); err == nil {
		t.Error("missing directory accepted")
	}
	if left := tempFiles(t, dir); len(left) != 0 {
		t.Errorf("temporary files left: %v", left)
	}
}

func TestReplaceFillCancelled(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "f")
	os.WriteFile(path, bytes.Repeat([]byte{7}, 1<<20), 0o644)
	r, err := Replace(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := r.Fill(ctx); err == nil && !r.Cloned {
		t.Error("Fill with a cancelled context copied anyway")
	}
}

func TestTempName(t *testing.T) {
	n, err := tempName(strings.Repeat("x", 300))
	if err != nil {
		t.Fatal(err)
	}
	if len(n) > maxNameLen || !TempName(n) {
		t.Errorf("tempName of a long name: %q (%d bytes)", n, len(n))
	}
	for _, s := range []string{"f", ".f.pdiffagent-", ".f.pdiffagent-zzzzzzzz", "f.pdiffagent-0011aabb", ".pdiffagent-0011aabb"} {
		if TempName(s) {
			t.Errorf("TempName(%q) = true", s)
		}
	}
	if !TempName(".f.pdiffagent-0011aabb") {
		t.Error("TempName of a real temporary name = false")
	}
}
