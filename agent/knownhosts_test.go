package agent

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestKnownHosts(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "id")
	k := OpenKnownHosts(dir)
	if _, ok := k.Lookup("a:1"); ok {
		t.Fatal("found a pin in a missing file")
	}
	fp1 := "sha256:" + strings.Repeat("1", 64)
	fp2 := "SHA256:" + strings.Repeat("2", 64)
	if err := k.Add("Host-A:7419", fp1); err != nil {
		t.Fatal(err)
	}
	if err := k.Add("[::1]:7419", fp1); err != nil {
		t.Fatal(err)
	}
	if fp, ok := k.Lookup("host-a:7419"); !ok || fp != fp1 {
		t.Errorf("Lookup = %q, %v", fp, ok)
	}
	if err := k.Add("host-a:7419", fp2); err != nil { // replaces
		t.Fatal(err)
	}
	if fp, _ := k.Lookup("host-a:7419"); fp != strings.ToLower(fp2) {
		t.Errorf("after replace: %q", fp)
	}
	if fp, _ := OpenKnownHosts(dir).Lookup("[::1]:7419"); fp != fp1 {
		t.Errorf("other entry lost: %q", fp)
	}
	b, _ := os.ReadFile(filepath.Join(dir, KnownHostsFile))
	if n := strings.Count(string(b), "\n"); n != 2 {
		t.Errorf("file has %d lines:\n%s", n, b)
	}
	if err := k.Add("h:1", "nonsense"); err == nil {
		t.Error("Add accepted a bad fingerprint")
	}
	if err := k.Add("h 1", fp1); err == nil {
		t.Error("Add accepted a bad address")
	}
}

func TestParseRemote(t *testing.T) {
	for _, c := range []struct{ in, hp, path string }{
		{"host:7000/a/b.img", "host:7000", "a/b.img"},
		{"host:7000/", "host:7000", ""},
		{"host:7000", "host:7000", ""},
		{"10.0.0.1:1/x", "10.0.0.1:1", "x"},
		{"[::1]:7000/dir/f", "[::1]:7000", "dir/f"},
		{"[fe80::1%eth0]:7000/f", "[fe80::1%eth0]:7000", "f"},
		{"host/f", "host:9443", "f"},
		{"[::1]/f", "[::1]:9443", "f"},
		{"host:7000//etc/passwd", "host:7000", "/etc/passwd"}, // the server refuses it
	} {
		hp, path, err := ParseRemote(c.in)
		if err != nil || hp != c.hp || path != c.path {
			t.Errorf("ParseRemote(%q) = %q, %q, %v; want %q, %q", c.in, hp, path, err, c.hp, c.path)
		}
	}
	for _, in := range []string{"", ":7000/f", "host:0/f", "host:99999/f", "host:x/f", "[::1/f", "::1:7000/f"} {
		if hp, path, err := ParseRemote(in); err == nil {
			t.Errorf("ParseRemote(%q) = %q, %q; want an error", in, hp, path)
		}
	}
}
