package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/pdiffagent/pdiffagent/sysio/sysiotest"
)

// TestTrustCacheDevice: a real loop device as the target of `sync`. Its
// ctime does not move when it is written, so it is cached only with
// --trust-cache: without, every sync reads it whole ("off"); with, the
// second sync reads nothing ("hit"). A device deleted and created again
// under the same device number, with other content, has the same identity:
// the record's fingerprint of sampled blocks rejects it ("stale"), the
// sync reads it whole and repairs it, and the one after is a hit again.
func TestTrustCacheDevice(t *testing.T) {
	const size = 8 << 20
	loop := sysiotest.AttachLoop(t, sysiotest.RandomBytes(60, size))
	dir := t.TempDir()
	cache, src := filepath.Join(dir, "cache"), filepath.Join(dir, "src")
	data := sysiotest.RandomBytes(61, size)
	sysiotest.WriteFile(t, src, data)
	sync := func(what string, flags ...string) (word string, read int64) {
		t.Helper()
		args := append([]string{"sync", "--json", "-b", "64K", "--cache-dir", cache}, flags...)
		var code int
		var msg string
		out := captureStdout(t, func() { code, msg = execute(t, append(args, src, loop.Dev)...) })
		var o struct {
			TargetCache string `json:"target_cache"`
			TargetRead  int64  `json:"target_bytes_read"`
			Verified    bool   `json:"verified"`
		}
		if code != exitOK || json.Unmarshal([]byte(out), &o) != nil || !o.Verified {
			t.Fatalf("%s: exit %d %s: %s", what, code, msg, out)
		}
		got, err := os.ReadFile(loop.Dev)
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("%s: the device differs from the source (%v)", what, err)
		}
		return o.TargetCache, o.TargetRead
	}
	want := func(what, word string, read int64, flags ...string) {
		t.Helper()
		if w, r := sync(what, flags...); w != word || r != read {
			t.Fatalf("%s: target cache %s, read %d; want %s, %d", what, w, r, word, read)
		}
	}
	const fp = 8 << 12 // the fingerprint: 8 sampled 4 KiB blocks, read to check a record and to make one (an unchanged target keeps its record)
	want("first sync, no --trust-cache", "off", size)
	want("second sync, no --trust-cache", "off", size)
	want("first sync with --trust-cache", "miss", size+fp, "--trust-cache")
	want("second sync with --trust-cache", "hit", fp, "--trust-cache")
	loop.Recreate(t, sysiotest.RandomBytes(62, size))
	want("sync of the recreated device", "stale", fp+size+fp, "--trust-cache")
	want("the sync after it", "hit", fp, "--trust-cache")
}
