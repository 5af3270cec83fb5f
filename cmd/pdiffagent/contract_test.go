package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pdiffagent/pdiffagent/agent"
	"github.com/pdiffagent/pdiffagent/bench"
	"github.com/pdiffagent/pdiffagent/engine"
)

// testListen runs an in-process server on 127.0.0.1:0 serving root, with
// mod applied to its config, and returns its address, its fingerprint and
// the identity directory of a client it allows.
func testListen(t *testing.T, root string, mod func(*agent.ServerConfig)) (addr, pin, clientDir string) {
	t.Helper()
	ids := newTestIDs(t)
	return ids.listen(t, "127.0.0.1:0", root, mod), ids.pin(), ids.clientDir
}

// testIDs are a server's identity and the identity directory of a client
// it allows, made before the server runs (testIDs.listen).
type testIDs struct {
	server, client *agent.Identity
	clientDir      string
}

func newTestIDs(t *testing.T) *testIDs {
	t.Helper()
	sid, err := agent.LoadOrCreateIdentity(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	ids := &testIDs{server: sid, clientDir: t.TempDir()}
	if ids.client, err = agent.LoadOrCreateIdentity(ids.clientDir); err != nil {
		t.Fatal(err)
	}
	return ids
}

// pin is the server's fingerprint.
func (ids *testIDs) pin() string { return ids.server.Fingerprint() }

// listen runs the server on addr until the test ends, and returns where.
func (ids *testIDs) listen(t *testing.T, addr, root string, mod func(*agent.ServerConfig)) string {
	t.Helper()
	cfg := agent.ServerConfig{Root: root, Allow: []string{ids.client.Fingerprint()}, Identity: ids.server,
		Log: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))}
	if mod != nil {
		mod(&cfg)
	}
	ctx, cancel := context.WithCancel(context.Background())
	srv, err := agent.Listen(ctx, addr, cfg)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { defer close(done); srv.Serve(ctx) }()
	t.Cleanup(func() { cancel(); srv.Close(); <-done })
	return srv.Addr()
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

// TestListenReload: listen's SIGHUP handler reads --allow-file again and
// logs who was added and removed; a file that does not parse keeps the old
// list. (agent's TestSetAllow shows the removed client's session ending.)
func TestListenReload(t *testing.T) {
	dir := t.TempDir()
	ids := make([]string, 3)
	for i := range ids {
		id, err := agent.LoadOrCreateIdentity(filepath.Join(dir, fmt.Sprint("id", i)))
		if err != nil {
			t.Fatal(err)
		}
		ids[i] = id.Fingerprint()
	}
	file := filepath.Join(dir, "clients")
	write := func(s string) {
		if err := os.WriteFile(file, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(ids[0] + "\n" + ids[1] + " # the backup host\n")
	opts := &listenOptions{AllowFile: file}
	allow, readOnly, err := opts.allowList()
	if err != nil {
		t.Fatal(err)
	}
	sid, err := agent.LoadOrCreateIdentity(filepath.Join(dir, "server"))
	if err != nil {
		t.Fatal(err)
	}
	var logBuf strings.Builder
	log := newLogger(&logBuf, "json", slog.LevelInfo)
	srv, err := agent.Listen(context.Background(), "127.0.0.1:0", agent.ServerConfig{Root: dir, Allow: allow, AllowReadOnly: readOnly, Identity: sid, Log: log})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()

	write(ids[1] + "\n" + ids[2] + " read-only\n")
	opts.reload(srv, log)
	write("sha256:nothex\n")
	opts.reload(srv, log)
	var lines []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(logBuf.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("--log-format json wrote %q: %v", l, err)
		}
		lines = append(lines, m)
	}
	if len(lines) != 3 {
		t.Fatalf("log: %s", logBuf.String())
	}
	if m := lines[0]; m["msg"] != "allow list reloaded" || fmt.Sprint(m["added"]) != fmt.Sprint([]any{ids[2]}) || fmt.Sprint(m["removed"]) != fmt.Sprint([]any{ids[0]}) {
		t.Errorf("reload logged %v; want %s added and %s removed", m, ids[2], ids[0])
	}
	if m := lines[1]; m["msg"] != "client removed: its sessions end" || m["client"] != ids[0] {
		t.Errorf("logged %v", m)
	}
	if m := lines[2]; m["level"] != "WARN" || !strings.Contains(fmt.Sprint(m["err"]), "clients:1") {
		t.Errorf("a bad file logged %v; want a warning naming the line", m)
	}
}

// TestManPages: `pdiffagent man DIR` writes a page per visible command.
func TestManPages(t *testing.T) {
	dir := t.TempDir()
	if code, msg := execute(t, "man", dir); code != exitOK {
		t.Fatalf("man: exit %d: %s", code, msg)
	}
	for _, c := range newRootCommand().Commands() {
		if c.Hidden || !c.IsAvailableCommand() {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, "pdiffagent-"+c.Name()+".1"))
		if err != nil || !strings.Contains(string(b), ".SH NAME") {
			t.Errorf("no man page for %s: %v", c.Name(), err)
		}
	}
}

// TestParseRate: rsync's --bwlimit units.
func TestParseRate(t *testing.T) {
	for s, want := range map[string]int64{"100": 100 << 10, "50M": 50 << 20, "50m": 50 << 20, "1.5M": 3 << 19, "2G": 2 << 30,
		"512K": 512 << 10, "10MiB": 10 << 20, "5MB": 5e6, "0": 0, "1000B": 1000} {
		if got, err := parseRate(s); err != nil || got != want {
			t.Errorf("%q: %d, %v; want %d", s, got, err, want)
		}
	}
	for _, bad := range []string{"", "fast", "-1M", "10X", "100B"} {
		if _, err := parseRate(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// TestBWLimit: push, pull and sync under --bwlimit and --io-limit give
// identical results; a limit under which one block would outlast the idle
// timeout is a usage error.
func TestBWLimit(t *testing.T) {
	dir := t.TempDir()
	root := filepath.Join(dir, "root")
	if err := os.Mkdir(root, 0o755); err != nil {
		t.Fatal(err)
	}
	src := filepath.Join(dir, "src")
	if err := bench.GenerateRandom(src, 2<<20, 7); err != nil {
		t.Fatal(err)
	}
	addr, pin, cdir := testListen(t, root, func(c *agent.ServerConfig) { c.Link = engine.NewRate(1<<30, 64<<10) })
	lim := []string{"-q", "-b", "64K", "--bwlimit", "1G", "--io-limit", "1G"}
	remote := append([]string{"--identity", cdir, "--pin", pin}, lim...)
	for _, args := range [][]string{
		append([]string{"push", src, addr + "/t.img"}, remote...),
		append([]string{"pull", addr + "/t.img", filepath.Join(dir, "pulled")}, remote...),
		append([]string{"sync", src, filepath.Join(dir, "local")}, lim...),
	} {
		if code, msg := execute(t, args...); code != exitOK {
			t.Fatalf("%q: exit %d: %s", args, code, msg)
		}
	}
	for _, f := range []string{filepath.Join(root, "t.img"), filepath.Join(dir, "pulled"), filepath.Join(dir, "local")} {
		if eq, err := bench.Compare(src, f); err != nil || !eq {
			t.Errorf("%s differs from the source (%v)", f, err)
		}
	}
	code, msg := execute(t, append([]string{"push", "-b", "64M", "--bwlimit", "1K", src, addr + "/u.img"}, remote[:4]...)...)
	if code != exitUsage || !strings.Contains(msg, "idle timeout") {
		t.Errorf("--bwlimit 1K -b 64M: exit %d, %s; want a usage error", code, msg)
	}
}
