package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/pdiffagent/pdiffagent/bench"
	"github.com/pdiffagent/pdiffagent/engine"
	"github.com/spf13/pflag"
)

// captureStdout runs fn with os.Stdout redirected to a file and returns
// what it wrote.
func captureStdout(t *testing.T, fn func()) string {
	t.Helper()
	f, err := os.CreateTemp(t.TempDir(), "stdout")
	if err != nil {
		t.Fatal(err)
	}
	old := os.Stdout
	os.Stdout = f
	defer func() { os.Stdout = old }()
	fn()
	f.Close()
	b, err := os.ReadFile(f.Name())
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestSyncEndToEnd(t *testing.T) {
	dir := t.TempDir()
	src, dst := filepath.Join(dir, "src"), filepath.Join(dir, "dst")
	if err := bench.GenerateRandom(src, 3<<20+77, 1); err != nil {
		t.Fatal(err)
	}
	if err := bench.CopyFile(src, dst); err != nil {
		t.Fatal(err)
	}
	if _, err := bench.Mutate(dst, 64<<10, 0.25, bench.Random, 3); err != nil {
		t.Fatal(err)
	}
	var code int
	out := captureStdout(t, func() { code, _ = execute(t, "sync", "-n", "--json", "-b", "64K", src, dst) })
	var r struct {
		BlocksTotal   int64 `json:"blocks_total"`
		BlocksChanged int64 `json:"blocks_changed"`
		DryRun        bool  `json:"dry_run"`
		Identical     bool  `json:"identical"`
	}
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("dry run output %q: %v", out, err)
	}
	if code != exitDiffers || !r.DryRun || r.Identical || r.BlocksChanged != 12 || r.BlocksTotal != 49 {
		t.Fatalf("dry run: exit %d, %+v", code, r)
	}
	out = captureStdout(t, func() { code, _ = execute(t, "sync", "-q", "-b", "64K", src, dst) })
	if code != exitOK || out != "" {
		t.Fatalf("sync -q: exit %d, output %q", code, out)
	}
	if eq, err := bench.Compare(src, dst); err != nil || !eq {
		t.Fatalf("after sync: equal %v, %v", eq, err)
	}
	captureStdout(t, func() { code, _ = execute(t, "sync", "-n", "-b", "64K", src, dst) })
	if code != exitOK {
		t.Fatalf("dry run of identical files: exit %d", code)
	}
	// A larger target is not identical even when every block matches.
	if err := os.Truncate(dst, 4<<20); err != nil {
		t.Fatal(err)
	}
	captureStdout(t, func() { code, _ = execute(t, "sync", "-n", src, dst) })
	if code != exitDiffers {
		t.Fatalf("dry run, larger target: exit %d", code)
	}
}

// TestSyncReadFlags syncs with each read path and with --direct-read, and
// refuses an unknown read path.
func TestSyncReadFlags(t *testing.T) {
	dir := t.TempDir()
	src, dst := filepath.Join(dir, "src"), filepath.Join(dir, "dst")
	if err := bench.GenerateRandom(src, 2<<20+77, 1); err != nil {
		t.Fatal(err)
	}
	if err := bench.CopyFile(src, dst); err != nil {
		t.Fatal(err)
	}
	for i, flags := range [][]string{{"--read-path", "mmap"}, {"--read-path", "pread"}, {"--direct-read"}, {"--direct-read", "--read-path=mmap"}} {
		if _, err := bench.Mutate(src, 64<<10, 0.25, bench.Random, int64(i+3)); err != nil {
			t.Fatal(err)
		}
		var code int
		var msg string
		captureStdout(t, func() {
			code, msg = execute(t, append(append([]string{"sync", "-q", "-b", "64K"}, flags...), src, dst)...)
		})
		if code != exitOK {
			t.Fatalf("%q: exit %d: %s", flags, code, msg)
		}
		if eq, err := bench.Compare(src, dst); err != nil || !eq {
			t.Fatalf("%q: equal %v, %v", flags, eq, err)
		}
	}
	if code, _ := execute(t, "sync", "--read-path", "mapped", src, dst); code != exitUsage {
		t.Errorf("--read-path mapped: exit %d, want %d", code, exitUsage)
	}
}

// TestReadOptionsArgs checks that the read flags a bench passes to its
// child processes give them the same options.
func TestReadOptionsArgs(t *testing.T) {
	for _, o := range []readOptions{{}, {ReadPath: readPathValue(engine.ReadMmap)}, {DirectRead: true}} {
		var got readOptions
		f := pflag.NewFlagSet("x", pflag.ContinueOnError)
		got.AddFlags(f)
		if err := f.Parse(o.args()); err != nil || got != o {
			t.Errorf("%+v: args %q gave %+v, %v", o, o.args(), got, err)
		}
	}
}

// TestSyncNoCacheCompares: a sync that keeps no block-hash record compares
// the two copies' bytes (engine/compare.go; nothing on the wire), one with
// the cache runs the protocol, whose hashes make the records.
func TestSyncNoCacheCompares(t *testing.T) {
	dir := t.TempDir()
	src, dst := filepath.Join(dir, "src"), filepath.Join(dir, "dst")
	if err := bench.GenerateRandom(src, 2<<20+77, 1); err != nil {
		t.Fatal(err)
	}
	if err := bench.CopyFile(src, dst); err != nil {
		t.Fatal(err)
	}
	for i, c := range []struct {
		flags   []string
		compare bool
	}{
		{[]string{"--no-cache"}, true},
		{[]string{"--cache-dir", "off"}, true},
		{[]string{"--cache-dir", filepath.Join(dir, "cache")}, false},
		{[]string{"--no-cache", "--bwlimit", "1G"}, false},
	} {
		if _, err := bench.Mutate(src, 64<<10, 0.25, bench.Random, int64(i+3)); err != nil {
			t.Fatal(err)
		}
		var code int
		var msg string
		out := captureStdout(t, func() {
			code, msg = execute(t, append(append([]string{"sync", "--json", "-b", "64K"}, c.flags...), src, dst)...)
		})
		var r struct {
			BytesWire     int64 `json:"bytes_wire"`
			BlocksChanged int64 `json:"blocks_changed"`
			Verified      bool  `json:"verified"`
		}
		if err := json.Unmarshal([]byte(out), &r); err != nil || code != exitOK {
			t.Fatalf("%q: exit %d %s, output %q: %v", c.flags, code, msg, out, err)
		}
		if !r.Verified || r.BlocksChanged == 0 || (r.BytesWire == 0) != c.compare {
			t.Errorf("%q: %+v, want compared %v", c.flags, r, c.compare)
		}
		if eq, err := bench.Compare(src, dst); err != nil || !eq {
			t.Fatalf("%q: equal %v, %v", c.flags, eq, err)
		}
	}
}
