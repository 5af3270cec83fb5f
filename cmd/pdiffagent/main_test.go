package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/pdiffagent/pdiffagent/engine"
	"github.com/pdiffagent/pdiffagent/wire"
)

// execute runs the command line args in-process and returns the exit code
// and the error text main would print.
func execute(t *testing.T, args ...string) (int, string) {
	t.Helper()
	ctx, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	root := newRootCommand()
	root.SetArgs(args)
	root.SetOut(io.Discard)
	root.SetErr(io.Discard)
	cmd, err := root.ExecuteContextC(ctx)
	printFailureJSON(ctx, cmd, args, err)
	msg := ""
	if err != nil {
		msg = err.Error()
	}
	return exitCode(ctx, err), msg
}

func TestBlockSizeFlag(t *testing.T) {
	for _, c := range []struct {
		arg  string
		want int
	}{{"128K", 128 << 10}, {"1MiB", 1 << 20}, {"4M", 4 << 20}, {"65536", 64 << 10}, {"64M", 64 << 20}} {
		var v blockSizeValue
		if err := v.Set(c.arg); err != nil || int(v) != c.want {
			t.Errorf("-b %s: got %d, %v; want %d", c.arg, v, err, c.want)
		}
	}
	for _, bad := range []string{"3000", "0", "2K", "128M", "1.5M", "-4K", "abc", ""} {
		var v blockSizeValue
		if err := v.Set(bad); err == nil {
			t.Errorf("-b %q accepted", bad)
		}
	}
}

func TestUsageErrorsExit2(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "missing")
	for _, args := range [][]string{
		{"sync", "-b", "3000", missing, missing},
		{"sync", "-b", "128M", missing, missing},
		{"sync", "-m", "md5", missing, missing},
		{"sync", "-c", "0", missing, missing},
		{"sync", "--min-block", "2M", missing, missing}, // above the block size, 1M
		{"sync", "-b", "64K", "--min-block", "128K", missing, missing},
		{"sync", "--min-block", "6K", missing, missing},
		{"push", "--min-block", "2M", missing, "127.0.0.1:1/x"},
		{"bench", "-b", "64K", "--min-block", "1M"},
		{"sync", "-c", "5000", missing, missing},
		{"sync", "--progress=sometimes", missing, missing},
		{"sync", "-q", "-v", missing, missing},
		{"sync", "--no-such-flag", missing, missing},
		{"sync", missing},
		{"sync", "a", "b", "c"},
		{"synk", "a", "b"},
		{"gen"},
		{"gen", "mutate", "--pattern", "middle", missing},
		{"gen", "mutate", "--fraction", "1.5", missing},
		{"bench", "--changed", "10"},
		{"bench", "--changed", "150%"},
		{"bench", "--pattern", "pages", "--pages", "-5"},
		{"bench", "--pattern", "sectors"},
	} {
		code, msg := execute(t, args...)
		if code != exitUsage {
			t.Errorf("%q: exit %d (%s), want %d", args, code, msg, exitUsage)
		}
	}
	_, msg := execute(t, "sync", "-b", "3000", missing, missing)
	if !strings.Contains(msg, "3000") || !strings.Contains(msg, "power of two") {
		t.Errorf("-b 3000: unclear message %q", msg)
	}
}

func TestAcceptedBlockSizesReachTheSync(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "missing")
	for _, b := range []string{"128K", "1MiB", "4M"} {
		code, msg := execute(t, "sync", "-q", "-b", b, missing, missing+"2")
		if code != exitError || !strings.Contains(msg, "no such file") {
			t.Errorf("-b %s: exit %d (%s); want 1 for the missing source", b, code, msg)
		}
	}
}

func TestSyncOptionsParams(t *testing.T) {
	var o syncOptions
	cmd := newSyncCommand(&o)
	if err := cmd.ParseFlags([]string{"-b", "256K", "-c", "3", "-m", "sha512_256", "-W", "-n", "-vv", "--json"}); err != nil {
		t.Fatal(err)
	}
	p, err := o.params()
	if err != nil {
		t.Fatal(err)
	}
	want := engine.Params{Session: engine.Session{BlockSize: 256 << 10, Workers: 3, Strong: engine.SHA512_256, WholeFile: true, DryRun: true}}
	if p != want {
		t.Errorf("params %+v, want %+v", p, want)
	}
	if o.Verbose != 2 || !o.JSON {
		t.Errorf("verbose %d json %v", o.Verbose, o.JSON)
	}
}

func TestExitCodes(t *testing.T) {
	bg := context.Background()
	for _, c := range []struct {
		err  error
		want int
	}{
		{nil, exitOK},
		{errors.New("boom"), exitError},
		{usageErrorf("bad"), exitUsage},
		{fmt.Errorf("x: %w", errDiffers), exitDiffers},
	} {
		if got := exitCode(bg, c.err); got != c.want {
			t.Errorf("%v: exit %d, want %d", c.err, got, c.want)
		}
	}
	ctx, cancel := context.WithCancelCause(bg)
	cancel(&signalError{syscall.SIGINT})
	if got := exitCode(ctx, context.Canceled); got != 130 {
		t.Errorf("SIGINT: exit %d, want 130", got)
	}
	if got := exitCode(ctx, nil); got != exitOK {
		t.Errorf("SIGINT after success: exit %d, want 0", got)
	}
}

func TestSummary(t *testing.T) {
	r := result{Stats: engine.Stats{BytesTotal: 2 << 30, BytesRange: 2 << 30, BytesWritten: 205 << 20, BlocksTotal: 2048,
		BlocksChanged: 205, BlocksConfirmed: 1843, Similarity: 0.9, Seconds: 1.25, Verified: true, BytesWire: 206 << 20}}
	got := summary(r)
	want := "synced 2.0 GiB: 205 of 2048 blocks changed (10.0%), wrote 205.0 MiB (206.0 MiB on the wire) in 1.25 s (1.6 GiB/s), similarity 0.900, verified"
	if got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
}

func TestFormat(t *testing.T) {
	for n, want := range map[int64]string{0: "0 B", 1023: "1023 B", 1024: "1.0 KiB", 3 << 29: "1.5 GiB"} {
		if got := formatBytes(n); got != want {
			t.Errorf("formatBytes(%d) = %q, want %q", n, got, want)
		}
	}
	for n, want := range map[int64]string{1 << 20: "1M", 128 << 10: "128K", 1 << 30: "1G", 1000: "1000"} {
		if got := formatSize(n); got != want {
			t.Errorf("formatSize(%d) = %q, want %q", n, got, want)
		}
	}
	if got := formatClock(3725); got != "1:02:05" {
		t.Errorf("formatClock = %q", got)
	}
}

func TestIsTerminalOnFile(t *testing.T) {
	f, err := os.CreateTemp(t.TempDir(), "x")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if isTerminal(f) {
		t.Error("a regular file is a terminal")
	}
}

// TestVersion: `version`, `--version` and `version --json` name the
// protocol version peers must share.
func TestVersion(t *testing.T) {
	for _, args := range [][]string{{"version"}, {"--version"}} {
		root := newRootCommand()
		var out strings.Builder
		root.SetArgs(args)
		root.SetOut(&out)
		if err := root.Execute(); err != nil {
			t.Fatalf("%q: %v", args, err)
		}
		want := fmt.Sprintf("protocol %d", wire.ProtocolVersion)
		if !strings.HasPrefix(out.String(), "pdiffagent ") || !strings.Contains(out.String(), want) {
			t.Errorf("%q printed %q, want pdiffagent … %s", args, out.String(), want)
		}
	}
	var out strings.Builder
	if err := printVersion(&out, true); err != nil {
		t.Fatal(err)
	}
	var v versionInfo
	if err := json.Unmarshal([]byte(out.String()), &v); err != nil || v.Protocol != wire.ProtocolVersion || v.Version == "" {
		t.Errorf("version --json: %q (%v)", out.String(), err)
	}
}
