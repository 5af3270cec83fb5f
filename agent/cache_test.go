package agent

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pdiffagent/pdiffagent/engine"
	"github.com/pdiffagent/pdiffagent/engine/cache"
	"github.com/pdiffagent/pdiffagent/sysio"
	"github.com/pdiffagent/pdiffagent/wire"
)

// cachedServer is a server with a block-hash cache outside its root.
func cachedServer(t *testing.T) (*testServer, *cache.Store) {
	s, err := cache.Open(cache.Options{Dir: filepath.Join(t.TempDir(), "cache")})
	if err != nil {
		t.Fatal(err)
	}
	return startServer(t, func(c *ServerConfig) { c.Cache = s }), s
}

var sessionLine = regexp.MustCompile(`msg="session (done|failed)[^"]*".* written=(\d+) .*target_read=(\d+) target_cache=(\w+)`)

// lastSession is the server's account of its last session: bytes written
// and read, and its cache word.
func lastSession(t *testing.T, ts *testServer) (written, read int64, word string) {
	t.Helper()
	m := sessionLine.FindAllStringSubmatch(ts.log.String(), -1)
	if len(m) == 0 {
		t.Fatalf("no session line in the server log:\n%s", ts.log.String())
	}
	l := m[len(m)-1]
	written, _ = strconv.ParseInt(l[2], 10, 64)
	read, _ = strconv.ParseInt(l[3], 10, 64)
	return written, read, l[4]
}

func push(t *testing.T, ts *testServer, local, name string, p engine.Params, opt engine.Options) (Outcome, error) {
	t.Helper()
	return Push(context.Background(), ts.clientConfig(TransportTCP), local, ts.remote(name), p, opt)
}

// TestCachedPushReadsNoTargetBlock: a push to an unchanged replica reads
// none of the blocks it keeps on the server (counted by sysio), whatever
// changed at the source: the blocks the last push wrote were recorded
// with both hashes. It reads the one it rewrites, whose old bytes the
// search may copy from (4 KiB blocks are not refined); with nothing
// changed, nothing. The result is byte-identical and verified.
func TestCachedPushReadsNoTargetBlock(t *testing.T) {
	checkGoroutines(t)
	ts, _ := cachedServer(t)
	src := filepath.Join(t.TempDir(), "src")
	data := randomBytes(20, 200*testBlock+11)
	writeFile(t, src, data)
	for round, want := range []string{"miss", "hit", "hit"} {
		wantRead := map[int]int64{1: testBlock}[round]
		if round == 1 {
			data[77*testBlock] ^= 1
			writeFile(t, src, data)
		}
		out, err := push(t, ts, src, "replica", testParams(3, 0), engine.Options{})
		if err != nil || !out.Stats.Verified {
			t.Fatalf("push %d: %v %+v", round, err, out.Stats)
		}
		if !bytes.Equal(readFile(t, filepath.Join(ts.root, "replica")), data) {
			t.Fatalf("push %d: replica differs", round)
		}
		_, read, word := lastSession(t, ts)
		if word != want || (want == "hit" && read != wantRead) {
			t.Fatalf("push %d: server cache=%s read=%d, want %s and %d read", round, word, read, want, wantRead)
		}
		if out.Stats.TargetCache != word || out.Stats.TargetRead != read { // the server's Report
			t.Fatalf("push %d: the client heard cache=%s read=%d, the server logged %s %d", round, out.Stats.TargetCache, out.Stats.TargetRead, word, read)
		}
	}
}

// TestCachedPushSeesDdAndTouch: a replica changed behind the server's back
// with dd conv=notrunc, its mtime then put back with touch -r, is seen
// (ctime moved) and repaired.
func TestCachedPushSeesDdAndTouch(t *testing.T) {
	for _, tool := range []string{"dd", "touch"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("no %s", tool)
		}
	}
	ts, _ := cachedServer(t)
	dir := t.TempDir()
	src, ref := filepath.Join(dir, "src"), filepath.Join(dir, "ref")
	data := randomBytes(21, 64*testBlock)
	writeFile(t, src, data)
	if _, err := push(t, ts, src, "replica", testParams(2, 0), engine.Options{}); err != nil {
		t.Fatal(err)
	}
	replica := filepath.Join(ts.root, "replica")
	run := func(name string, args ...string) {
		if out, err := exec.Command(name, args...).CombinedOutput(); err != nil {
			t.Fatalf("%s: %v: %s", name, err, out)
		}
	}
	writeFile(t, ref, nil)
	run("touch", "-r", replica, ref)
	run("dd", "if=/dev/zero", "of="+replica, "bs=4096", "seek=9", "count=1", "conv=notrunc", "status=none")
	run("touch", "-r", ref, replica)
	out, err := push(t, ts, src, "replica", testParams(2, 0), engine.Options{})
	if err != nil || !out.Stats.Verified || out.Stats.BlocksChanged != 1 {
		t.Fatalf("push after dd: %v %+v", err, out.Stats)
	}
	if _, _, word := lastSession(t, ts); word != "stale" {
		t.Fatalf("server cache=%s after dd + touch -r, want stale", word)
	}
	if !bytes.Equal(readFile(t, replica), data) {
		t.Fatal("replica not repaired")
	}
}

// TestCachedPushTornRecord: a torn record on the server is ignored.
func TestCachedPushTornRecord(t *testing.T) {
	ts, store := cachedServer(t)
	src := filepath.Join(t.TempDir(), "src")
	data := randomBytes(22, 40*testBlock)
	writeFile(t, src, data)
	if _, err := push(t, ts, src, "replica", testParams(2, 0), engine.Options{}); err != nil {
		t.Fatal(err)
	}
	recs, _ := filepath.Glob(filepath.Join(store.Dir(), "r-*"))
	if len(recs) != 1 {
		t.Fatalf("cache holds records %v, want the replica's", recs)
	}
	os.Truncate(recs[0], 60)
	out, err := push(t, ts, src, "replica", testParams(2, 0), engine.Options{})
	if err != nil || !out.Stats.Verified {
		t.Fatalf("push after a torn record: %v %+v", err, out.Stats)
	}
	if _, read, word := lastSession(t, ts); word != "miss" || read != int64(len(data)) {
		t.Fatalf("torn record: cache=%s read=%d", word, read)
	}
}

// TestCachedPushResumes: a 100%-changed push cancelled by the client part
// way leaves the server a sealed journal; the rerun reads and sends only
// what the first push did not write (the journal logs each written block
// with both hashes), but for the blocks it refines beyond the copies a
// worker holds (engine/refine.go, refineHeld), which it reads back for
// its record; the result is identical.
func TestCachedPushResumes(t *testing.T) {
	checkGoroutines(t)
	ts, _ := cachedServer(t)
	const bs = 64 << 10
	src := filepath.Join(t.TempDir(), "src")
	data := randomBytes(23, 512*bs)
	writeFile(t, src, data)
	writeFile(t, filepath.Join(ts.root, "replica"), randomBytes(24, len(data)))
	p := engine.Params{Session: engine.Session{BlockSize: bs, Workers: 1}}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var hashed atomic.Int64
	weak := func(b []byte) uint64 { // the gate: stop the client once it hashed 7/8 of the file
		if hashed.Add(1) == 448 {
			cancel()
		}
		return engine.WeakXXH3(b)
	}
	_, err := Push(ctx, ts.clientConfig(TransportTCP), src, ts.remote("replica"), p, engine.Options{Weak: weak})
	if err == nil {
		t.Fatal("the cancelled push succeeded")
	}
	ts.waitSessions(t)
	written, _, _ := lastSession(t, ts)
	if written == 0 {
		t.Skip("the server wrote nothing before the push was cancelled")
	}
	out, err := push(t, ts, src, "replica", p, engine.Options{})
	if err != nil || !out.Stats.Verified {
		t.Fatalf("rerun: %v %+v", err, out.Stats)
	}
	_, read, word := lastSession(t, ts)
	size := int64(len(data))
	t.Logf("first push wrote %d of %d bytes; the rerun read %d and sent %d, refined %d blocks", written, size, read, out.Stats.BytesSent, out.Stats.BlocksRefined)
	// The rerun reads at most the rest (and the old blocks it refines):
	// never a block the journal logged. It may read less: once the rest
	// keeps differing, the receiver asks for blocks unread
	// (engine/skipread.go).
	if word != "resume" || read > size-written+out.Stats.BlocksRefined*bs || out.Stats.BytesSent > size-written {
		t.Fatalf("rerun after %d of %d bytes written: server cache=%s read=%d; sent %d", written, size, word, read, out.Stats.BytesSent)
	}
	if !bytes.Equal(readFile(t, filepath.Join(ts.root, "replica")), data) {
		t.Fatal("replica differs")
	}
}

// waitSessions waits for the server's account of a failed session (the
// log line is written once the engine, and its journal's seal, are done).
func (ts *testServer) waitSessions(t *testing.T) {
	t.Helper()
	if !waitFor(20*time.Second, func() bool { return strings.Contains(ts.log.String(), `msg="session failed`) }) {
		t.Fatalf("the server never ended the session:\n%s", ts.log.String())
	}
}

// TestCachedPushOlderServer: with a server without wire.CapXXH3 (an older
// build) a push hashes with xxhash64 on both sides, verifies, and its
// records serve the next push; the server's session line names the caps.
func TestCachedPushOlderServer(t *testing.T) {
	checkGoroutines(t)
	s, err := cache.Open(cache.Options{Dir: filepath.Join(t.TempDir(), "cache")})
	if err != nil {
		t.Fatal(err)
	}
	ts := startServer(t, func(c *ServerConfig) { c.Cache, c.olderCaps = s, wire.AgentCaps&^wire.CapXXH3 })
	src := filepath.Join(t.TempDir(), "src")
	data := randomBytes(23, 64*testBlock+5)
	writeFile(t, src, data)
	for round, want := range []string{"miss", "hit"} {
		data[(10+round)*testBlock] ^= 1
		writeFile(t, src, data)
		out, err := push(t, ts, src, "replica", testParams(2, 0), engine.Options{})
		if err != nil || !out.Stats.Verified {
			t.Fatalf("push %d: %v %+v", round, err, out.Stats)
		}
		if !bytes.Equal(readFile(t, filepath.Join(ts.root, "replica")), data) {
			t.Fatalf("push %d: replica differs", round)
		}
		if _, _, word := lastSession(t, ts); word != want {
			t.Fatalf("push %d: server cache=%s, want %s", round, word, want)
		}
	}
	for _, l := range strings.Split(ts.log.String(), "\n") {
		if strings.Contains(l, "caps=") && strings.Contains(l, "xxh3") {
			t.Fatalf("a session with an older server used xxh3: %s", l)
		}
	}
	f, err := sysio.Open(filepath.Join(ts.root, "replica"), sysio.ReadOnly, sysio.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if r, st, _ := s.Lookup(f, testBlock, uint8(engine.SHA256)); st != cache.Hit {
		t.Fatalf("the replica's record is not an xxhash64 one: %v", st)
	} else {
		r.Close()
	}
}
