package main

import (
	"context"
	"encoding/json"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pdiffagent/pdiffagent/agent"
	"github.com/pdiffagent/pdiffagent/bench"
)

// testListen runs an in-process server on 127.0.0.1:0 serving root, with
// mod applied to its config, and returns its address, its fingerprint and
// the identity directory of a client it allows.
func testListen(t *testing.T, root string, mod func(*agent.ServerConfig)) (addr, pin, clientDir string) {
	t.Helper()
	sid, err := agent.LoadOrCreateIdentity(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	clientDir = t.TempDir()
	cid, err := agent.LoadOrCreateIdentity(clientDir)
	if err != nil {
		t.Fatal(err)
	}
	cfg := agent.ServerConfig{Root: root, Allow: []string{cid.Fingerprint()}, Identity: sid,
		Log: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))}
	if mod != nil {
		mod(&cfg)
	}
	ctx, cancel := context.WithCancel(context.Background())
	srv, err := agent.Listen(ctx, "127.0.0.1:0", cfg)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { defer close(done); srv.Serve(ctx) }()
	t.Cleanup(func() { cancel(); srv.Close(); <-done })
	return srv.Addr(), srv.Fingerprint(), clientDir
}

// jsonOutcome is what a --json run printed: exactly one object.
type jsonOutcome struct {
	Error     string `json:"error"`
	ErrorCode string `json:"error_code"`
	Identical bool   `json:"identical"`
}

// runJSON runs args in-process and returns the exit status and the one
// object it printed on stdout (failing the test if it printed anything
// else).
func runJSON(t *testing.T, args ...string) (int, jsonOutcome) {
	t.Helper()
	var code int
	out := captureStdout(t, func() { code, _ = execute(t, args...) })
	lines := strings.Split(strings.TrimSpace(out), "\n")
	var o jsonOutcome
	if len(lines) != 1 || json.Unmarshal([]byte(lines[0]), &o) != nil {
		t.Fatalf("%q: exit %d, stdout %q: want exactly one JSON object", args, code, out)
	}
	return code, o
}

// TestJSONContract: every outcome of a --json command is one object on
// stdout, failures with error and error_code, and the exit status follows
// the code (75 for what is worth retrying).
func TestJSONContract(t *testing.T) {
	dir := t.TempDir()
	src, missing := filepath.Join(dir, "src"), filepath.Join(dir, "nosuch")
	if err := bench.GenerateRandom(src, 1<<20, 1); err != nil {
		t.Fatal(err)
	}
	ro, pin, cdir := testListen(t, t.TempDir(), func(c *agent.ServerConfig) { c.ReadOnly = true })
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String()
	ln.Close() // nothing listens there now: connection refused
	remote := []string{"--identity", cdir, "--pin", pin, "-q"}
	for _, c := range []struct {
		args []string
		exit int
		code string
	}{
		{[]string{"sync", "--json", missing, filepath.Join(dir, "b.img")}, exitError, codeNotFound},
		{[]string{"sync", "--json", "-b", "3000", src, filepath.Join(dir, "b.img")}, exitUsage, codeUsage},
		{[]string{"sync", "--no-such-flag", "--json", src, filepath.Join(dir, "b.img")}, exitUsage, codeUsage},
		{[]string{"sync", "--json", src}, exitUsage, codeUsage},
		{[]string{"synk", "--json", src, src}, exitUsage, codeUsage},
		{[]string{"sync", "--json", "--progress=sometimes", src, filepath.Join(dir, "b.img")}, exitUsage, codeUsage},
		{[]string{"push", "--json", "--transport", "udp", src, ro}, exitUsage, codeUsage},
		{append([]string{"push", "--json", src, ro + "/x.img"}, remote...), exitError, codeRefused},
		{append([]string{"pull", "--json", ro + "/nosuch.img", filepath.Join(dir, "p.img")}, remote...), exitError, codeNotFound},
		{append([]string{"push", "--json", "--retries", "1", src, closed + "/x.img"}, remote...), exitTempFail, codeNetwork},
		{[]string{"sync", "--json", src, filepath.Join(dir, "b.img")}, exitOK, ""},
	} {
		code, o := runJSON(t, c.args...)
		if code != c.exit || o.ErrorCode != c.code || (c.code != "") != (o.Error != "") {
			t.Errorf("%q: exit %d, %+v; want exit %d, error_code %q", c.args, code, o, c.exit, c.code)
		}
	}
}

// TestRetries: a failure worth retrying runs again, the given number of
// times, and says so on stderr.
func TestRetries(t *testing.T) {
	calls := 0
	o := retryOptions{Retries: 2, firstWait: time.Millisecond}
	var log strings.Builder
	resets := 0
	err := o.do(context.Background(), &log, func() { resets++ }, func() error {
		calls++
		return &net.OpError{Op: "dial", Err: os.ErrDeadlineExceeded}
	})
	if calls != 3 || resets != 2 || err == nil || strings.Count(log.String(), "running again") != 2 {
		t.Errorf("network failure: %d runs, %d resets, %v, log %q; want 3 runs", calls, resets, err, log.String())
	}
	calls = 0
	err = o.do(context.Background(), &log, func() {}, func() error { calls++; return os.ErrNotExist })
	if calls != 1 || err == nil {
		t.Errorf("not found: %d runs; want 1 (not worth retrying)", calls)
	}
}

// TestLZ4Short: -z is --compress lz4, and the last of the two wins.
func TestLZ4Short(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{{[]string{"-z"}, "lz4"}, {[]string{"-z", "--compress=none"}, "none"}, {[]string{"--compress", "none", "-z"}, "lz4"}, {nil, "none"}} {
		var o syncOptions
		cmd := newSyncCommand(&o)
		if err := cmd.ParseFlags(c.args); err != nil {
			t.Fatal(err)
		}
		if got := o.Compress.String(); got != c.want {
			t.Errorf("%q: codec %s, want %s", c.args, got, c.want)
		}
	}
}

// TestProgressFlag: a bare --progress is always and does not take the next
// argument; values take =.
func TestProgressFlag(t *testing.T) {
	var o syncOptions
	cmd := newSyncCommand(&o)
	if err := cmd.ParseFlags([]string{"--progress", "a", "b"}); err != nil {
		t.Fatal(err)
	}
	if o.Progress != progressAlways || len(cmd.Flags().Args()) != 2 {
		t.Errorf("bare --progress: %q, args %q", o.Progress, cmd.Flags().Args())
	}
	if err := cmd.ParseFlags([]string{"--progress=lines"}); err != nil || o.Progress != progressLines {
		t.Errorf("--progress=lines: %q, %v", o.Progress, err)
	}
}
