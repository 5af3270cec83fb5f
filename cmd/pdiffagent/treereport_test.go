package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pdiffagent/pdiffagent/engine"
	"github.com/pdiffagent/pdiffagent/sysio/sysiotest"
)

// captureStderr sends os.Stderr to a file while fn runs; read gives what
// was written so far (fn's goroutines may still write).
func captureStderr(t *testing.T) (read func() string, restore func()) {
	t.Helper()
	f, err := os.CreateTemp(t.TempDir(), "stderr")
	if err != nil {
		t.Fatal(err)
	}
	old := os.Stderr
	os.Stderr = f
	return func() string {
			b, _ := os.ReadFile(f.Name())
			return string(b)
		}, func() {
			os.Stderr = old
			f.Close()
		}
}

// treeProgressRE is a tree's progress line while a large file is in
// flight: files done of found, bytes done of found, written, rate, ETA,
// the large file.
var treeProgressRE = regexp.MustCompile(`\r(\d+)/(\d+) files, [0-9.]+ [KMG]?i?B / [0-9.]+ [KMG]?i?B, [0-9.]+ [KMG]?i?B written, [0-9.]+ [KMG]?i?B/s, ETA [-0-9:]+, now big\.img`)

// TestTreeProgressAndJSON: a tree push and pull over TCP, held while the
// sender hashes the first block of a large file (sparse, 80 MiB): the
// progress line shows files and bytes done of those found, what was
// written, the rate, the ETA and the large file in flight; then the
// --json report's contract: per-tree totals that add up, and failed
// paths as a list (empty, not null, when none failed).
func TestTreeProgressAndJSON(t *testing.T) {
	for _, op := range []string{"push", "pull"} {
		t.Run(op, func(t *testing.T) {
			n := newTreeNet(t)
			src, dst, args := n.sides(t, op, sysiotest.TreeSpec{Seed: 24, Files: 40, MaxSize: 16 << 10, Dirs: 3, Depth: 2, Symlinks: 2})
			big := filepath.Join(src, "big.img")
			marker := bytes.Repeat([]byte("B"), 4096)
			sysiotest.WriteFile(t, big, marker)
			if err := os.Truncate(big, 80<<20); err != nil {
				t.Fatal(err)
			}
			read, restore := captureStderr(t)
			defer restore()
			var once sync.Once
			var line string
			engine.TestHookWeak = func(_ context.Context, w engine.WeakFunc, _ *engine.Progress) engine.WeakFunc {
				return func(b []byte) uint64 {
					if bytes.HasPrefix(b, marker) {
						once.Do(func() { // the sender holds here until the line shows the file
							sysiotest.WaitUntil(time.Minute, func() bool { return treeProgressRE.MatchString(read()) })
							line = treeProgressRE.FindString(read())
						})
					}
					return w(b)
				}
			}
			t.Cleanup(func() { engine.TestHookWeak = nil })
			var code int
			all := append(append([]string{op, "--json", "--progress=always", "-b", "1M", "-c", "2"}, n.remote...), args...)
			out := captureStdout(t, func() { code, _ = execute(t, all...) })
			engine.TestHookWeak = nil
			restore()
			if code != exitOK {
				t.Fatalf("exit %d: %s\n%s", code, out, read())
			}
			m := treeProgressRE.FindStringSubmatch(line)
			if m == nil {
				t.Fatalf("no progress line with the large file in flight:\n%q", read())
			}
			if m[1] == m[2] {
				t.Errorf("progress %q: every file found was done while one was in flight", line)
			}
			t.Logf("progress: %s", strings.TrimPrefix(line, "\r"))
			sysiotest.TreeEqual(t, src, dst, sysiotest.TreeOptions{})
			checkTreeJSON(t, out, 41, 40<<10, 80<<20)
		})
	}
}

// checkTreeJSON checks a successful tree run's --json object: every
// total present as a number, files that add up, the bytes of the source's
// files, and failed an empty list.
func checkTreeJSON(t *testing.T, out string, files int, minBytes, maxExtra int64) {
	t.Helper()
	lines := strings.Split(strings.TrimSpace(out), "\n")
	var obj map[string]any
	if len(lines) != 1 || json.Unmarshal([]byte(lines[0]), &obj) != nil {
		t.Fatalf("stdout %q: want exactly one JSON object", out)
	}
	num := func(k string) int64 {
		v, ok := obj[k].(float64)
		if !ok {
			t.Errorf("%q is %v (%T), want a number", k, obj[k], obj[k])
		}
		return int64(v)
	}
	for _, k := range []string{"files", "files_changed", "files_verified", "files_skipped", "dirs", "symlinks", "hard_links",
		"devices", "specials_skipped", "deleted", "excluded", "bytes_total", "bytes_written", "bytes_sent", "bytes_wire",
		"blocks_changed", "seconds", "failed_count"} {
		num(k)
	}
	if f := num("files"); f != int64(files) || num("files_changed")+num("files_verified")+num("files_skipped")+num("hard_links") != f {
		t.Errorf("files %d (want %d): changed, verified, skipped and hard links do not add up: %s", f, files, out)
	}
	if b := num("bytes_total"); b < maxExtra || b > maxExtra+minBytes*int64(files) {
		t.Errorf("bytes_total %d", b)
	}
	if failed, ok := obj["failed"].([]any); !ok || len(failed) != 0 || num("failed_count") != 0 {
		t.Errorf("failed is %v (%T), want an empty list", obj["failed"], obj["failed"])
	}
	if obj["identical"] != true || obj["dry_run"] != false {
		t.Errorf("identical %v, dry_run %v", obj["identical"], obj["dry_run"])
	}
	if _, ok := obj["error"]; ok {
		t.Errorf("error %v in a successful run", obj["error"])
	}
}
