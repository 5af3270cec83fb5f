package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestReadAllowFile(t *testing.T) {
	fp := func(c byte) string { return "sha256:" + strings.Repeat(string(c), 64) }
	path := filepath.Join(t.TempDir(), "clients")
	write := func(s string) {
		if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("# clients\n" + fp('a') + "\n  " + fp('b') + " read-only  # backups only\n\n" + fp('c') + "#x\n")
	allow, ro, err := readAllowFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(allow, ",") != fp('a')+","+fp('c') || strings.Join(ro, ",") != fp('b') {
		t.Fatalf("allow %v, read-only %v", allow, ro)
	}
	for _, bad := range []string{
		fp('a') + " readonly\n",
		fp('a') + " read-only extra\n",
		fp('a') + " rw\n",
		"sha256:nothex read-only\n",
	} {
		write(bad)
		if allow, ro, err := readAllowFile(path); err == nil || !strings.Contains(err.Error(), path+":1:") {
			t.Errorf("%q: allow %v, read-only %v, err %v; want an error naming the line", bad, allow, ro, err)
		}
	}
}
