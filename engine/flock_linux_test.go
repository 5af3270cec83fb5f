//go:build linux

package engine

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pdiffagent/pdiffagent/sysio"
)

// A local sync does not write a target another process holds flock on.
func TestSyncLocalHonoursFlock(t *testing.T) {
	dir := t.TempDir()
	src, dst := filepath.Join(dir, "src"), filepath.Join(dir, "dst")
	if err := os.WriteFile(src, []byte(strings.Repeat("a", 10000)), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	held, err := os.Open(dst)
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	if err := sysio.Lock(held, false, false); err != nil {
		t.Skipf("flock: %v", err)
	}
	_, err = SyncLocal(context.Background(), src, dst, Params{Session: Session{BlockSize: 4096, Workers: 1}}, Options{})
	if err == nil || !strings.Contains(err.Error(), "locked by another process") {
		t.Fatalf("sync under another process's lock: %v", err)
	}
	if b, _ := os.ReadFile(dst); string(b) != "old" {
		t.Fatal("the sync wrote under another process's lock")
	}
}
