package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestVerifyCommand: verify passes a file as its sync left it, fails
// (exit 1, "verify") once a block is written behind pdiffagent's back, and
// fails for a file without a record.
func TestVerifyCommand(t *testing.T) {
	dir := t.TempDir()
	cache := filepath.Join(dir, "cache")
	src, dst := filepath.Join(dir, "src"), filepath.Join(dir, "dst")
	data := make([]byte, 300<<10)
	for i := range data {
		data[i] = byte(i * 7)
	}
	os.WriteFile(src, data, 0o644)
	if code, msg := execute(t, "sync", "-q", "-b", "64K", "--cache-dir", cache, src, dst); code != exitOK {
		t.Fatalf("sync: %d %s", code, msg)
	}
	if code, msg := execute(t, "verify", "--cache-dir", cache, dst); code != exitOK {
		t.Fatalf("verify of a synced file: %d %s", code, msg)
	}
	f, _ := os.OpenFile(dst, os.O_WRONLY, 0)
	f.WriteAt([]byte{0xff}, 130<<10)
	f.Close()
	code, msg := execute(t, "verify", "--cache-dir", cache, dst)
	if code != exitError || !strings.Contains(msg, "1 blocks differ") {
		t.Fatalf("verify after a write: %d %q", code, msg)
	}
	// --json: one object with the bad blocks, error and error_code.
	var obj struct {
		jsonOutcome
		Bad []int64 `json:"bad_blocks"`
	}
	out := captureStdout(t, func() { code, _ = execute(t, "verify", "--json", "--cache-dir", cache, dst) })
	if err := json.Unmarshal([]byte(out), &obj); err != nil || strings.Count(out, "\n") != 1 {
		t.Fatalf("verify --json: %q: %v", out, err)
	}
	if code != exitError || obj.ErrorCode != codeVerify || obj.Error == "" || len(obj.Bad) != 1 || obj.Bad[0] != 2 {
		t.Errorf("verify --json after a write: exit %d, %+v", code, obj)
	}
	other := filepath.Join(dir, "other")
	os.WriteFile(other, data, 0o644)
	if code, msg := execute(t, "verify", "--cache-dir", cache, other); code != exitError || !strings.Contains(msg, "no block-hash record") {
		t.Fatalf("verify without a record: %d %q", code, msg)
	}
}

// TestListenVerifyInterval: `listen --verify-interval` scrubs the files it
// served: a block written behind its back (mtime restored) is logged with
// its number, in the background, with no client connected.
func TestListenVerifyInterval(t *testing.T) {
	e := newFaultEnv(t)
	root, local := t.TempDir(), t.TempDir()
	src, dst := filepath.Join(local, "f"), filepath.Join(root, "f")
	writeBytes(t, src, fastRandom(41, 1<<20))
	srv := e.startServer(root, "--verify-interval", "20ms")
	defer srv.kill()
	e.mustRun("push", "-b", "64K", src, srv.remote("f"))
	if _, ok := srv.waitLog("files=1 differ=0", 0, time.Minute); !ok {
		t.Fatalf("no clean scrub pass of the pushed file: %s", srv.stderr.String())
	}
	fi, _ := os.Stat(dst)
	f, _ := os.OpenFile(dst, os.O_WRONLY, 0)
	f.WriteAt([]byte("rot"), 5<<16+7)
	f.Close()
	os.Chtimes(dst, fi.ModTime(), fi.ModTime())
	if _, ok := srv.waitLog("scrub: blocks differ", 0, time.Minute); !ok {
		t.Fatalf("the write behind the server's back was not reported: %s", srv.stderr.String())
	}
	if !regexp.MustCompile(`msg="scrub: blocks differ from the record" path=f differ=1 blocks=16 block_size=65536 first="?\[5\]`).MatchString(srv.stderr.String()) {
		t.Errorf("report: %s", srv.stderr.String())
	}
}
