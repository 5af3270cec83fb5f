package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pdiffagent/pdiffagent/bench"
)

// TestSyncRollingJSON: a local sync of a copy with 4 KiB inserted 1 MiB in
// reports blocks_moved and bytes_reused in --json and in its summary, and
// sends little; --no-rolling sends every block after the insertion.
func TestSyncRollingJSON(t *testing.T) {
	dir := t.TempDir()
	orig := filepath.Join(dir, "orig")
	if err := bench.GenerateRandom(orig, 4<<20+77, 5); err != nil {
		t.Fatal(err)
	}
	type stats struct {
		BytesSent   int64 `json:"bytes_sent"`
		BlocksMoved int64 `json:"blocks_moved"`
		BytesReused int64 `json:"bytes_reused"`
		Verified    bool  `json:"verified"`
	}
	run := func(name string, args ...string) (stats, string) {
		src, dst := filepath.Join(dir, name+".src"), filepath.Join(dir, name+".dst")
		if err := bench.CopyFile(orig, src); err != nil {
			t.Fatal(err)
		}
		if err := bench.CopyFile(orig, dst); err != nil {
			t.Fatal(err)
		}
		if _, err := bench.Mutate(src, 64<<10, 0, bench.Insert, 1); err != nil {
			t.Fatal(err)
		}
		var code int
		out := captureStdout(t, func() { code, _ = execute(t, append(append([]string{"sync"}, args...), "-b", "64K", src, dst)...) })
		if eq, err := bench.Compare(src, dst); code != exitOK || err != nil || !eq {
			t.Fatalf("%s: exit %d, equal %v, %v; output %q", name, code, eq, err, out)
		}
		var s stats
		if strings.HasPrefix(out, "{") {
			if err := json.Unmarshal([]byte(out), &s); err != nil {
				t.Fatalf("%s: output %q: %v", name, out, err)
			}
		}
		return s, out
	}
	s, _ := run("rolling", "--json")
	if !s.Verified || s.BlocksMoved == 0 || s.BytesReused < 2<<20 || s.BytesSent > 4096+3*(64<<10) {
		t.Errorf("with the search: %+v", s)
	}
	if _, out := run("summary"); !strings.Contains(out, "from moved data") {
		t.Errorf("summary %q does not say what moved", out)
	}
	s, _ = run("fixed", "--json", "--no-rolling")
	if !s.Verified || s.BlocksMoved != 0 || s.BytesSent < 3<<20 {
		t.Errorf("--no-rolling: %+v", s)
	}
}
