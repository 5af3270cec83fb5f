package agent

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pdiffagent/pdiffagent/engine"
	"github.com/pdiffagent/pdiffagent/wire"
)

// wantPeerError checks that err is the server's report with code and words.
func wantPeerError(t *testing.T, err error, code uint16, words string) {
	t.Helper()
	var pe *engine.PeerError
	if !errors.As(err, &pe) || pe.Code != code || !strings.Contains(pe.Message, words) {
		t.Errorf("err = %v; want a peer error code %d mentioning %q", err, code, words)
	}
}

func TestReadOnly(t *testing.T) {
	checkGoroutines(t)
	_, cid, _ := ids()
	for _, tr := range transports {
		t.Run(tr, func(t *testing.T) {
			ro := startServer(t, func(c *ServerConfig) { c.ReadOnly = true })
			roClient := startServer(t, func(c *ServerConfig) { c.Allow, c.AllowReadOnly = nil, []string{cid.Fingerprint()} })
			for _, ts := range []*testServer{ro, roClient} {
				writeFile(t, filepath.Join(ts.root, "f"), []byte("server's"))
				local := filepath.Join(t.TempDir(), "f")
				writeFile(t, local, []byte("client's"))
				for _, dry := range []bool{false, true} {
					p := testParams(2, 0)
					p.DryRun = dry
					_, err := Push(context.Background(), ts.clientConfig(tr), local, ts.remote("f"), p, engine.Options{})
					want := "server is read-only"
					if ts == roClient {
						want = "may only pull"
					}
					wantPeerError(t, err, wire.CodeDenied, want)
				}
				if got := readFile(t, filepath.Join(ts.root, "f")); string(got) != "server's" {
					t.Errorf("read-only server's file changed: %q", got)
				}
				if _, err := Pull(context.Background(), ts.clientConfig(tr), ts.remote("f"), local, testParams(2, 0), engine.Options{}); err != nil {
					t.Errorf("pull from a read-only server: %v", err)
				}
				if got := readFile(t, local); string(got) != "server's" {
					t.Errorf("pulled %q", got)
				}
			}
		})
	}
}

func TestDryRun(t *testing.T) {
	checkGoroutines(t)
	ts := startServer(t, nil)
	for _, tr := range transports {
		t.Run(tr, func(t *testing.T) {
			local := t.TempDir()
			src := randomBytes(11, 5*testBlock)
			old := bytes.Clone(src)
			old[2*testBlock] ^= 1
			p := testParams(2, 0)
			p.DryRun = true

			// Push: an existing target is compared, not written; a missing one is not created.
			writeFile(t, filepath.Join(local, "src"), src)
			writeFile(t, filepath.Join(ts.root, tr+"-old"), old)
			out, err := Push(context.Background(), ts.clientConfig(tr), filepath.Join(local, "src"), ts.remote(tr+"-old"), p, engine.Options{})
			if err != nil {
				t.Fatal(err)
			}
			if !out.DryRun || out.BlocksChanged != 1 || out.BytesWritten != 0 {
				t.Errorf("dry-run push: %+v", out.Stats)
			}
			if got := readFile(t, filepath.Join(ts.root, tr+"-old")); !bytes.Equal(got, old) {
				t.Error("dry-run push wrote to the target")
			}
			if _, err := Push(context.Background(), ts.clientConfig(tr), filepath.Join(local, "src"), ts.remote(tr+"-missing"), p, engine.Options{}); err != nil {
				t.Fatal(err)
			}
			if _, err := os.Lstat(filepath.Join(ts.root, tr+"-missing")); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("dry-run push created the target: %v", err)
			}
			_, err = Push(context.Background(), ts.clientConfig(tr), filepath.Join(local, "src"), ts.remote("nodir/x"), p, engine.Options{})
			wantPeerError(t, err, wire.CodeNotFound, "parent directory does not exist")

			// Pull: the same on the client's side.
			writeFile(t, filepath.Join(ts.root, tr+"-src"), src)
			writeFile(t, filepath.Join(local, "old"), old)
			out, err = Pull(context.Background(), ts.clientConfig(tr), ts.remote(tr+"-src"), filepath.Join(local, "old"), p, engine.Options{})
			if err != nil {
				t.Fatal(err)
			}
			if !out.DryRun || out.BlocksChanged != 1 || out.BytesWritten != 0 {
				t.Errorf("dry-run pull: %+v", out.Stats)
			}
			if got := readFile(t, filepath.Join(local, "old")); !bytes.Equal(got, old) {
				t.Error("dry-run pull wrote to the target")
			}
			if _, err := Pull(context.Background(), ts.clientConfig(tr), ts.remote(tr+"-src"), filepath.Join(local, "missing"), p, engine.Options{}); err != nil {
				t.Fatal(err)
			}
			if _, err := os.Lstat(filepath.Join(local, "missing")); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("dry-run pull created the target: %v", err)
			}
		})
	}
}

func TestRemoteErrors(t *testing.T) {
	checkGoroutines(t)
	ts := startServer(t, nil)
	outside := filepath.Join(t.TempDir(), "outside")
	writeFile(t, outside, []byte("secret"))
	if err := os.Symlink(outside, filepath.Join(ts.root, "escape")); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(ts.root, "dir"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, tr := range transports {
		t.Run(tr, func(t *testing.T) {
			local := filepath.Join(t.TempDir(), "f")
			writeFile(t, local, []byte("client's"))
			for _, c := range []struct {
				path  string
				code  uint16
				words string
			}{
				{"../x", wire.CodeDenied, `contains ".."`},
				{"a/../../x", wire.CodeDenied, `contains ".."`},
				{"/etc/passwd", wire.CodeDenied, "absolute"},
				{"escape", wire.CodeDenied, "outside"},
				{"dir", wire.CodeDenied, "directory"},
			} {
				_, err := Push(context.Background(), ts.clientConfig(tr), local, ts.remote(c.path), testParams(2, 0), engine.Options{})
				wantPeerError(t, err, c.code, c.words)
				_, err = Pull(context.Background(), ts.clientConfig(tr), ts.remote(c.path), local, testParams(2, 0), engine.Options{})
				wantPeerError(t, err, c.code, c.words)
				if err != nil && strings.Contains(err.Error(), ts.root) {
					t.Errorf("error reveals the server's root: %v", err)
				}
			}
			if got := readFile(t, outside); string(got) != "secret" {
				t.Errorf("file outside the root changed: %q", got)
			}
			// A missing source: the error arrives, and no local file is left behind.
			missing := filepath.Join(t.TempDir(), "new")
			_, err := Pull(context.Background(), ts.clientConfig(tr), ts.remote("nope"), missing, testParams(2, 0), engine.Options{})
			wantPeerError(t, err, wire.CodeNotFound, "nope: no such file")
			if _, err := os.Lstat(missing); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("failed pull left %s: %v", missing, err)
			}
		})
	}
}

func TestWorkersCapped(t *testing.T) {
	checkGoroutines(t)
	ts := startServer(t, func(c *ServerConfig) { c.MaxWorkers = 2 })
	for _, tr := range transports {
		src := filepath.Join(t.TempDir(), "src")
		data := randomBytes(12, 7*testBlock+1)
		writeFile(t, src, data)
		out, err := Push(context.Background(), ts.clientConfig(tr), src, ts.remote("capped-"+tr), testParams(5, 0), engine.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if out.Workers != 2 {
			t.Errorf("%s: %d workers, want 2", tr, out.Workers)
		}
		if got := readFile(t, filepath.Join(ts.root, "capped-"+tr)); !bytes.Equal(got, data) {
			t.Errorf("%s: target differs", tr)
		}
	}
}

func TestRange(t *testing.T) {
	checkGoroutines(t)
	ts := startServer(t, nil)
	for _, tr := range transports {
		t.Run(tr, func(t *testing.T) {
			local := t.TempDir()
			src := randomBytes(13, 6*testBlock+10)
			old := randomBytes(14, len(src))
			want := bytes.Clone(old)
			copy(want[2*testBlock:4*testBlock], src[2*testBlock:4*testBlock])
			p := testParams(2, 0)
			p.Start, p.End = 2*testBlock, 4*testBlock

			writeFile(t, filepath.Join(local, "src"), src)
			writeFile(t, filepath.Join(ts.root, tr+"-push"), old)
			if _, err := Push(context.Background(), ts.clientConfig(tr), filepath.Join(local, "src"), ts.remote(tr+"-push"), p, engine.Options{}); err != nil {
				t.Fatal(err)
			}
			if got := readFile(t, filepath.Join(ts.root, tr+"-push")); !bytes.Equal(got, want) {
				t.Error("ranged push: wrong result")
			}

			writeFile(t, filepath.Join(ts.root, tr+"-src"), src)
			writeFile(t, filepath.Join(local, "old"), old)
			if _, err := Pull(context.Background(), ts.clientConfig(tr), ts.remote(tr+"-src"), filepath.Join(local, "old"), p, engine.Options{}); err != nil {
				t.Fatal(err)
			}
			if got := readFile(t, filepath.Join(local, "old")); !bytes.Equal(got, want) {
				t.Error("ranged pull: wrong result")
			}
		})
	}
}

func TestParamsRoundTrip(t *testing.T) {
	p := engine.Params{Session: engine.Session{BlockSize: 64 << 10, Workers: 7, Strong: engine.SHA512_256, Codec: wire.CodecLZ4, WholeFile: true, DryRun: true, NoSparse: true, NoTimes: true, NoPerms: true}, File: engine.File{Start: 64 << 10, End: 512 << 10}}
	p, err := p.Bind(1 << 20)
	if err != nil {
		t.Fatal(err)
	}
	o := openMessage(wire.OpPush, "x", p)
	o.Size = p.Size
	got, err := bindParams(paramsFromOpen(o, 100), o.Size)
	if err != nil {
		t.Fatal(err)
	}
	if got != p {
		t.Errorf("round trip:\n got %+v\nwant %+v", got, p)
	}
	if got := paramsFromOpen(o, 3); got.Workers != 3 {
		t.Errorf("workers not capped: %d", got.Workers)
	}
	o.Flags |= wire.FlagAtomic // the target's business (atomic.go), not the engine's
	if got, err := bindParams(paramsFromOpen(o, 100), o.Size); err != nil || got != p {
		t.Errorf("with FlagAtomic: %+v, %v", got, err)
	}
}

// TestRangeBeyondSource: the client finds the range invalid only once the
// server has told it the source's size; both sides end with the reason.
func TestRangeBeyondSource(t *testing.T) {
	checkGoroutines(t)
	ts := startServer(t, nil)
	writeFile(t, filepath.Join(ts.root, "small"), randomBytes(15, testBlock))
	for _, tr := range transports {
		p := testParams(2, 0)
		p.Start, p.End = 0, 4*testBlock
		local := filepath.Join(t.TempDir(), "f")
		_, err := Pull(context.Background(), ts.clientConfig(tr), ts.remote("small"), local, p, engine.Options{})
		if err == nil || !strings.Contains(err.Error(), "beyond the source's size") {
			t.Errorf("%s: err = %v", tr, err)
		}
	}
	if !waitFor(time.Minute, func() bool { return strings.Count(ts.log.String(), "beyond the source") == 2 }) {
		t.Errorf("server did not log the client's reason:\n%s", ts.log.String())
	}
}
