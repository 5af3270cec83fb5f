package agent

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pdiffagent/pdiffagent/engine"
	"github.com/pdiffagent/pdiffagent/sysio"
	"github.com/pdiffagent/pdiffagent/sysio/sysiotest"
	"github.com/pdiffagent/pdiffagent/wire"
)

// Faults in process: atomic replacement (push and pull), the session
// watchdog, a full disk. The same faults with real processes, kill -9 and
// SIGSTOP are in cmd/pdiffagent/fault_test.go.

func inode(t *testing.T, path string) uint64 {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Sys().(*syscall.Stat_t).Ino
}

func atomicConfig(ts *testServer, tr string) ClientConfig {
	cfg := ts.clientConfig(tr)
	cfg.Atomic = true
	return cfg
}

func TestAtomicPush(t *testing.T) {
	checkGoroutines(t)
	ts := startServer(t, nil)
	for _, tr := range transports {
		t.Run(tr, func(t *testing.T) {
			data := randomBytes(51, 40*testBlock+100)
			old := append([]byte(nil), data...)
			old[5*testBlock] ^= 1
			old[30*testBlock] ^= 1
			dst := filepath.Join(ts.root, "img-"+tr)
			writeFile(t, dst, old)
			os.Chmod(dst, 0o600)
			before := inode(t, dst)
			src := filepath.Join(t.TempDir(), "src")
			writeFile(t, src, data)
			os.Chmod(src, 0o640)
			out, err := Push(context.Background(), atomicConfig(ts, tr), src, ts.remote("img-"+tr), testParams(3, 0), engine.Options{})
			if err != nil {
				t.Fatal(err)
			}
			if got := readFile(t, dst); !bytes.Equal(got, data) {
				t.Fatal("target differs")
			}
			if !out.Verified || out.BlocksChanged != 2 {
				t.Errorf("verified %v, changed %d: want a verified delta of 2 blocks from the old target's copy", out.Verified, out.BlocksChanged)
			}
			if inode(t, dst) == before {
				t.Error("same inode: the target was written in place, not replaced")
			}
			if fi, _ := os.Stat(dst); fi.Mode().Perm() != 0o640 {
				t.Errorf("mode %v, want the source's 0640", fi.Mode().Perm())
			}
			if left := temps(t, ts.root); len(left) != 0 {
				t.Errorf("temporary files left: %v", left)
			}

			// A missing target is created; a dry run ignores --atomic.
			os.Remove(dst)
			if _, err := Push(context.Background(), atomicConfig(ts, tr), src, ts.remote("img-"+tr), testParams(2, 0), engine.Options{}); err != nil {
				t.Fatal(err)
			}
			if got := readFile(t, dst); !bytes.Equal(got, data) {
				t.Fatal("created target differs")
			}
			p := testParams(2, 0)
			p.DryRun = true
			if out, err := Push(context.Background(), atomicConfig(ts, tr), src, ts.remote("img-"+tr), p, engine.Options{}); err != nil || out.BlocksConfirmed != out.BlocksTotal {
				t.Errorf("atomic dry run: %+v, %v", out, err)
			}
		})
	}
}

// wroteBlock reports whether a replacement temporary in dir holds a block
// of data where data has it.
func wroteBlock(dir string, data []byte) bool {
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if !sysio.TempName(e.Name()) {
			continue
		}
		b, _ := os.ReadFile(filepath.Join(dir, e.Name()))
		for off := 0; off+testBlock <= min(len(b), len(data)); off += testBlock {
			if bytes.Equal(b[off:off+testBlock], data[off:off+testBlock]) {
				return true
			}
		}
	}
	return false
}

// TestAtomicPushInterrupted: a push whose client gives up after blocks
// were written leaves the server's target exactly as it was, and no
// temporary file.
func TestAtomicPushInterrupted(t *testing.T) {
	checkGoroutines(t)
	for _, tr := range transports {
		t.Run(tr, func(t *testing.T) {
			ts := startServer(t, nil)
			old := randomBytes(52, 64*testBlock)
			dst := filepath.Join(ts.root, "f")
			writeFile(t, dst, old)
			src := filepath.Join(t.TempDir(), "src")
			data := randomBytes(53, len(old))
			writeFile(t, src, data)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			// The gate holds the last block: one worker's stripe (one batch
			// each) is hashed whole, so its blocks are sent and written.
			g := newGate(63)
			errc := make(chan error, 1)
			go func() {
				_, err := Push(ctx, atomicConfig(ts, tr), src, ts.remote("f"), testParams(2, 0), engine.Options{Weak: g.weak(ctx)})
				errc <- err
			}()
			<-g.blocked
			if !waitFor(time.Minute, func() bool { return wroteBlock(ts.root, data) }) {
				t.Fatal("no block written into a temporary file while the atomic push runs")
			}
			cancel()
			if err := <-errc; !errors.Is(err, context.Canceled) {
				t.Errorf("client: %v", err)
			}
			if !waitFor(time.Minute, func() bool { return ts.activeSessions() == 0 }) {
				t.Fatal("server session still running")
			}
			if got := readFile(t, dst); !bytes.Equal(got, old) {
				t.Error("an interrupted atomic push changed the target")
			}
			if left := temps(t, ts.root); len(left) != 0 {
				t.Errorf("temporary files left: %v", left)
			}
		})
	}
}

func TestAtomicPushRefusals(t *testing.T) {
	checkGoroutines(t)
	ts := startServer(t, nil)
	writeFile(t, filepath.Join(ts.root, "real"), []byte("x"))
	os.Symlink("real", filepath.Join(ts.root, "link"))
	os.Mkdir(filepath.Join(ts.root, "dir"), 0o755)
	src := filepath.Join(t.TempDir(), "src")
	writeFile(t, src, randomBytes(54, 3*testBlock))
	for _, c := range []struct {
		path  string
		code  uint16
		words string
	}{
		{"link", wire.CodeDenied, "link: is a symbolic link"},
		{"dir", wire.CodeBadRequest, "dir: is a directory"},
		{"nodir/f", wire.CodeNotFound, "parent directory does not exist"},
	} {
		_, err := Push(context.Background(), atomicConfig(ts, TransportTCP), src, ts.remote(c.path), testParams(1, 0), engine.Options{})
		wantPeerError(t, err, c.code, c.words)
	}
	if got := readFile(t, filepath.Join(ts.root, "real")); string(got) != "x" {
		t.Error("the link's target was written")
	}
	if left := temps(t, ts.root); len(left) != 0 {
		t.Errorf("temporary files left: %v", left)
	}
}

func TestAtomicPull(t *testing.T) {
	checkGoroutines(t)
	ts := startServer(t, nil)
	data := randomBytes(55, 8<<20)
	writeFile(t, filepath.Join(ts.root, "f"), data)
	// One worker, batches of 4 blocks of 1 MiB, written in runs of at most
	// 4: the gate lets the first run be written, then holds the receiver
	// (its hasher, or its writer before the next run). It counted calls
	// alone, and at -cpu 1 the hasher took them all before the writer's
	// first: nothing was ever written (every run failed, at 3ba7e11 too).
	p := engine.Params{Session: engine.Session{BlockSize: 1 << 20, Workers: 1}}
	dir := t.TempDir()
	local := filepath.Join(dir, "f")
	old := randomBytes(56, len(data))
	writeFile(t, local, old)

	// Interrupted after writing: the old file stays, no temporary file.
	ctx, cancel := context.WithCancel(context.Background())
	g := newGate(0)
	errc := make(chan error, 1)
	prog := &engine.Progress{}
	g.after = func() bool { return prog.Written.Load() > 0 }
	go func() {
		_, err := Pull(ctx, atomicConfig(ts, TransportTCP), ts.remote("f"), local, p, engine.Options{Weak: g.weak(ctx), Progress: prog})
		errc <- err
	}()
	<-g.blocked
	waitFor(time.Minute, func() bool { return prog.Written.Load() > 0 })
	cancel()
	cancelled := time.Now()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled pull: %v", err)
	}
	t.Logf("pull returned %v after the cancel; %d bytes written before it", time.Since(cancelled), prog.Written.Load())
	if prog.Written.Load() == 0 {
		t.Error("nothing was written before the cancel: the check proves little")
	}
	if got := readFile(t, local); !bytes.Equal(got, old) {
		t.Error("an interrupted atomic pull changed the target")
	}
	if left := temps(t, dir); len(left) != 0 {
		t.Errorf("temporary files left: %v", left)
	}

	// Then it converges.
	out, err := Pull(context.Background(), atomicConfig(ts, TransportTCP), ts.remote("f"), local, p, engine.Options{})
	if err != nil || !out.Verified {
		t.Fatalf("%+v, %v", out, err)
	}
	if got := readFile(t, local); !bytes.Equal(got, data) {
		t.Error("target differs after the atomic pull")
	}
	if left := temps(t, dir); len(left) != 0 {
		t.Errorf("temporary files left: %v", left)
	}
}

// TestWatchdogStalledClient: a client that stops sending in the middle of
// a session (its engine is held: a stopped process looks the same to the
// server) is given up by the server after its idle timeout, with a log
// line that says so, and the server serves on.
func TestWatchdogStalledClient(t *testing.T) {
	checkGoroutines(t)
	const idle = 500 * time.Millisecond
	for _, tr := range transports {
		t.Run(tr, func(t *testing.T) {
			ts := startServer(t, func(c *ServerConfig) { c.IdleTimeout = idle })
			g := newGate(3)
			errc := held(t, context.Background(), ts, tr, "f", randomBytes(57, 32*testBlock), g)
			start := time.Now()
			if !waitFor(time.Minute, func() bool { return ts.activeSessions() == 0 }) {
				t.Fatal("the server still waits for a stalled client")
			}
			took := time.Since(start)
			// The watchdog, or (QUIC, under load) the idle timeout itself. The
			// session's slot is freed just before its log line is written.
			said := func() bool {
				log := ts.log.String()
				return strings.Contains(log, "sent nothing for") || strings.Contains(log, "no recent network activity")
			}
			if !waitFor(time.Minute, said) {
				log := ts.log.String()
				t.Errorf("server log does not say why:\n%s", log)
			}
			t.Logf("stalled client dropped after %v (idle timeout %v)", took, idle)
			close(g.open)
			if err := <-errc; err == nil {
				t.Error("the stalled client's push succeeded")
			}
		})
	}
}

// TestWatchdogSlowPeerIsNotStalled: a peer that answers slowly but
// steadily (every gap shorter than the idle timeout, the session longer)
// does not trip the watchdog on either side.
func TestWatchdogSlowPeerIsNotStalled(t *testing.T) {
	checkGoroutines(t)
	// One worker, batches of 2 blocks of 2 MiB, a tier-1 hash that takes
	// 100 ms: a message about every 200 ms, for 24 blocks, 2.4 s. The idle
	// timeout is ten times the gap, so that a loaded machine's delays never
	// make a gap look like a stall, and shorter than the session.
	const idle, pace, blocks = 2 * time.Second, 100 * time.Millisecond, 24
	ts := startServer(t, func(c *ServerConfig) { c.IdleTimeout = idle })
	data := randomBytes(58, blocks*2<<20)
	src := filepath.Join(t.TempDir(), "src")
	writeFile(t, src, data)
	writeFile(t, filepath.Join(ts.root, "f"), data)
	cfg := ts.clientConfig(TransportTCP)
	cfg.IdleTimeout = idle
	slow := func(b []byte) uint64 { time.Sleep(pace); return engine.WeakXXH3(b) } // pacing, not waiting
	start := time.Now()
	p := engine.Params{Session: engine.Session{BlockSize: 2 << 20, Workers: 1}}
	if _, err := Push(context.Background(), cfg, src, ts.remote("f"), p, engine.Options{Weak: slow}); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < idle {
		t.Errorf("the push took %v, less than the idle timeout: the test proves nothing", d)
	}
}

// TestDiskFull: a push into a full filesystem fails with an error that
// names the file and the cause, in place (into a sparse target, which the
// server's room check lets through: it needs no growth) and atomic (refused
// up front; the old file stays, no temporary file), and the server serves
// on.
func TestDiskFull(t *testing.T) {
	checkGoroutines(t)
	ts := startServer(t, nil)
	small := filepath.Join(ts.root, "small")
	sysiotest.Mount(t, "tmpfs", small, "8m")
	src := filepath.Join(t.TempDir(), "src")
	writeFile(t, src, randomBytes(59, 12<<20))
	p := engine.Params{Session: engine.Session{BlockSize: 64 << 10, Workers: 2}}
	if f, err := os.Create(filepath.Join(small, "big")); err != nil {
		t.Fatal(err)
	} else if err := f.Truncate(12 << 20); err != nil {
		t.Fatal(err)
	} else {
		f.Close()
	}

	_, err := Push(context.Background(), ts.clientConfig(TransportTCP), src, ts.remote("small/big"), p, engine.Options{})
	if err == nil || !strings.Contains(err.Error(), "small/big") || !strings.Contains(err.Error(), "no space left on device") {
		t.Errorf("in place: err = %v; want the file's name and ENOSPC", err)
	}
	// The client hears the failure before the server has closed the file,
	// whose blocks stay allocated until then; it logs the failure after.
	if !waitFor(time.Minute, func() bool { return strings.Contains(ts.log.String(), "session failed") }) {
		t.Fatalf("server did not log the failure:\n%s", ts.log.String())
	}
	os.Remove(filepath.Join(small, "big"))
	// Its blocks are freed when the last descriptor to it closes, which
	// may come a moment after the log line: wait for the room itself.
	if !waitFor(time.Minute, func() bool {
		var st syscall.Statfs_t
		return syscall.Statfs(small, &st) == nil && int64(st.Bavail)*int64(st.Bsize) >= 7<<20
	}) {
		t.Fatal("the removed target's space was not freed")
	}

	old := randomBytes(60, 5<<20)
	writeFile(t, filepath.Join(small, "old"), old)
	_, err = Push(context.Background(), atomicConfig(ts, TransportTCP), src, ts.remote("small/old"), p, engine.Options{})
	if err == nil || !strings.Contains(err.Error(), "small/") || !strings.Contains(err.Error(), "not enough space") {
		t.Errorf("atomic: err = %v; want the file's name and \"not enough space\"", err)
	}
	if !waitFor(time.Minute, func() bool { return ts.activeSessions() == 0 }) {
		t.Fatal("session still running")
	}
	if got := readFile(t, filepath.Join(small, "old")); !bytes.Equal(got, old) {
		t.Error("a failed atomic push changed the target")
	}
	if left := temps(t, small); len(left) != 0 {
		t.Errorf("temporary files left: %v", left)
	}

	// The server serves on, elsewhere.
	writeFile(t, src, randomBytes(61, 1<<20))
	if _, err := Push(context.Background(), ts.clientConfig(TransportTCP), src, ts.remote("elsewhere"), p, engine.Options{}); err != nil {
		t.Errorf("push after ENOSPC: %v", err)
	}
}
