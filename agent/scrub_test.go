package agent

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pdiffagent/pdiffagent/engine"
	"github.com/pdiffagent/pdiffagent/engine/cache"
	"github.com/pdiffagent/pdiffagent/sysio"
)

// scrubServer is a cached server whose scrub runs every interval and on
// scrubOnce; entries records what became of each index entry beneath the
// root in the last pass (nil: compared).
type scrubServer struct {
	*testServer
	store   *cache.Store
	mu      sync.Mutex
	entries map[string]error
}

func startScrubServer(t *testing.T, interval time.Duration, mod func(*ServerConfig), hooks func(*scrubber)) *scrubServer {
	t.Helper()
	store, err := cache.Open(cache.Options{Dir: filepath.Join(t.TempDir(), "cache")})
	if err != nil {
		t.Fatal(err)
	}
	ss := &scrubServer{store: store, entries: map[string]error{}}
	ss.testServer = listenServer(t, func(c *ServerConfig) {
		c.Cache, c.VerifyInterval = store, interval
		if mod != nil {
			mod(c)
		}
	})
	ss.scrub.onEntry = func(rel string, err error) {
		ss.mu.Lock()
		ss.entries[rel] = err
		ss.mu.Unlock()
	}
	if hooks != nil {
		hooks(ss.scrub)
	}
	ss.serve()
	return ss
}

// pass runs one scrub pass and returns its stats and what it did per entry.
func (ss *scrubServer) pass(t *testing.T) (scrubStats, map[string]error) {
	t.Helper()
	ss.mu.Lock()
	ss.entries = map[string]error{}
	ss.mu.Unlock()
	st, err := ss.scrubOnce(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	ss.mu.Lock()
	defer ss.mu.Unlock()
	return st, ss.entries
}

// indexed is the path index as the server's cache holds it.
func (ss *scrubServer) indexed(t *testing.T) []string {
	var paths []string
	if err := ss.store.Paths(func(e cache.PathEntry) error { paths = append(paths, e.Path); return nil }); err != nil {
		t.Fatal(err)
	}
	return paths
}

// pushed pushes a fresh file of blocks blocks to name on ss.
func (ss *scrubServer) pushed(t *testing.T, name string, blocks int, seed uint64) {
	t.Helper()
	src := filepath.Join(t.TempDir(), "src")
	writeFile(t, src, randomBytes(seed, blocks*testBlock))
	if out, err := push(t, ss.testServer, src, name, testParams(2, 0), engine.Options{}); err != nil || !out.Stats.Verified {
		t.Fatalf("push %s: %v %+v", name, err, out.Stats)
	}
}

// corrupt flips a byte of block of path behind the server's back and
// restores its mtime, as `dd conv=notrunc` then `touch -r` would.
func corrupt(t *testing.T, path string, block int64) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	b := []byte{0}
	off := block*testBlock + 100
	f.ReadAt(b, off)
	b[0] ^= 0x5a
	if _, err := f.WriteAt(b, off); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if err := os.Chtimes(path, fi.ModTime(), fi.ModTime()); err != nil {
		t.Fatal(err)
	}
}

var differLine = regexp.MustCompile(`msg="scrub: blocks differ from the record" path=(\S+) differ=(\d+) blocks=\d+ block_size=\d+ first="?\[([0-9 ]*)\]`)

// TestScrubFindsCorruption: a pass compares every recorded file beneath
// the root; a block written behind the server's back (mtime restored) is
// logged with its number, and the file's record invalidated, so the next
// push repairs it and the pass after that finds the file clean.
func TestScrubFindsCorruption(t *testing.T) {
	checkGoroutines(t)
	ss := startScrubServer(t, time.Hour, nil, nil)
	os.Mkdir(filepath.Join(ss.root, "sub"), 0o755)
	ss.pushed(t, "a", 40, 1)
	ss.pushed(t, "sub/b", 9, 2)
	if got := ss.indexed(t); len(got) != 2 {
		t.Fatalf("path index %v after two pushes", got)
	}
	st, ents := ss.pass(t)
	if st.Files != 2 || st.Differ != 0 || st.BytesRead != 49*testBlock || ents["a"] != nil || ents["sub/b"] != nil {
		t.Fatalf("clean pass: %+v %v", st, ents)
	}
	corrupt(t, filepath.Join(ss.root, "a"), 17)
	st, _ = ss.pass(t)
	m := differLine.FindAllStringSubmatch(ss.log.String(), -1)
	if st.Files != 2 || st.Differ != 1 || len(m) != 1 || m[0][1] != "a" || m[0][2] != "1" || m[0][3] != "17" {
		t.Fatalf("pass after a write behind the server's back: %+v, lines %q", st, m)
	}
	// The record is gone: the next pass forgets the entry, a push reads
	// the file and writes the record again.
	st, ents = ss.pass(t)
	if st.Files != 1 || st.Forgotten != 1 || !errors.Is(ents["a"], errScrubForgotten) {
		t.Fatalf("pass after the report: %+v %v", st, ents)
	}
	ss.pushed(t, "a", 40, 1)
	if _, _, word := lastSession(t, ss.testServer); word == "hit" {
		t.Errorf("the push after the scrub used the record of the corrupt file")
	}
	st, _ = ss.pass(t)
	if st.Files != 2 || st.Differ != 0 {
		t.Errorf("pass after the repair: %+v", st)
	}
}

// TestScrubForgetsGone: an entry whose file was removed, or whose name now
// is another file, is forgotten, and that file is not compared with the
// old one's record. (A pulled file, recorded by the server as it sends
// it, is indexed as a pushed one is.)
func TestScrubForgetsGone(t *testing.T) {
	ss := startScrubServer(t, time.Hour, nil, nil)
	writeFile(t, filepath.Join(ss.root, "a"), randomBytes(1, 3*testBlock))
	if out, err := Pull(context.Background(), ss.clientConfig(TransportTCP), ss.remote("a"), filepath.Join(t.TempDir(), "a"),
		testParams(2, 0), engine.Options{}); err != nil || !out.Stats.Verified {
		t.Fatalf("pull: %v %+v", err, out.Stats)
	}
	ss.pushed(t, "b", 3, 2)
	ss.pushed(t, "c", 3, 3)
	os.Remove(filepath.Join(ss.root, "b"))
	os.Rename(filepath.Join(ss.root, "c"), filepath.Join(ss.root, "c.old"))
	writeFile(t, filepath.Join(ss.root, "c"), randomBytes(9, 3*testBlock))
	st, ents := ss.pass(t)
	if st.Files != 1 || st.Forgotten != 2 || ents["a"] != nil || !errors.Is(ents["b"], errScrubForgotten) || !errors.Is(ents["c"], errScrubForgotten) {
		t.Fatalf("pass: %+v %v", st, ents)
	}
	if got := ss.indexed(t); len(got) != 1 || got[0] != filepath.Join(ss.scrub.root, "a") {
		t.Errorf("path index %v, want a's entry alone", got)
	}
}

// TestScrubStaysInRoot: a file outside the root that has a record is never
// opened, whatever the index says: not through a symbolic link that
// replaced its name beneath the root, not through a path with "..", and
// not when its entry names another root.
func TestScrubStaysInRoot(t *testing.T) {
	ss := startScrubServer(t, time.Hour, nil, nil)
	ss.pushed(t, "a", 5, 1)
	out := t.TempDir()
	moved := filepath.Join(out, "a")
	if err := os.Rename(filepath.Join(ss.root, "a"), moved); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(moved, filepath.Join(ss.root, "a")); err != nil {
		t.Fatal(err)
	}
	// Another file outside, recorded, with entries that lead out of the
	// root by "..", and that name no root of this server.
	other := filepath.Join(out, "other")
	f := recordedFile(t, ss.store, other, 5)
	if err := ss.store.NotePath(f, ss.scrub.root+"/../"+filepath.Base(out)+"/other"); err != nil {
		t.Fatal(err)
	}
	corrupt(t, moved, 2)
	st, ents := ss.pass(t)
	if st.Files != 0 || st.Differ != 0 || st.BytesRead != 0 || len(ents) != 2 ||
		!errors.Is(ents["a"], errScrubForgotten) || !errors.Is(ents["../"+filepath.Base(out)+"/other"], errScrubForgotten) {
		t.Fatalf("pass: %+v %v", st, ents)
	}
	if strings.Contains(ss.log.String(), "blocks differ") {
		t.Errorf("a file outside the root was compared:\n%s", ss.log.String())
	}
	// An entry naming the file by its own path, outside the root, is
	// another root's: never opened, kept.
	ss.store.NotePath(f, other)
	st, ents = ss.pass(t)
	if st.Files != 0 || len(ents) != 0 || len(ss.indexed(t)) != 1 {
		t.Errorf("pass with another root's entry: %+v %v, index %v", st, ents, ss.indexed(t))
	}
}

// TestScrubEvery: passes run by themselves every interval.
func TestScrubEvery(t *testing.T) {
	checkGoroutines(t)
	passes := make(chan scrubStats, 1)
	ss := startScrubServer(t, time.Millisecond, nil, func(sc *scrubber) {
		sc.onPass = func(st scrubStats) {
			select {
			case passes <- st:
			default: // the test looks at the latest passes only
			}
		}
	})
	ss.pushed(t, "a", 8, 1)
	for st := range passes {
		if st.Files == 1 && st.BytesRead == 8*testBlock {
			break
		}
	}
}

// TestScrubStopsOnClose: a pass in progress (paced by --io-limit at
// 4 KiB/s over a file that would take a minute) ends when the server
// closes, and the file is not counted as scrubbed.
func TestScrubStopsOnClose(t *testing.T) {
	checkGoroutines(t)
	started := make(chan struct{}, 1)
	ss := startScrubServer(t, time.Hour, func(c *ServerConfig) { c.ReadLimit = engine.NewRate(4<<10, testBlock) },
		func(sc *scrubber) { sc.onFile = func(string) { started <- struct{}{} } })
	// A record made here, not by a push: the server's hashing would be
	// paced too.
	f := recordedFile(t, ss.store, filepath.Join(ss.root, "big"), 64)
	if err := ss.store.NotePath(f, filepath.Join(ss.scrub.root, "big")); err != nil {
		t.Fatal(err)
	}
	done := make(chan scrubStats, 1)
	go func() {
		st, _ := ss.scrubOnce(context.Background())
		done <- st
	}()
	<-started
	ss.Close()
	if st := <-done; st.Files != 0 || st.Differ != 0 {
		t.Errorf("interrupted pass: %+v", st)
	}
}

// recordedFile writes a file of blocks random blocks at name and commits a
// record of it in store, with made-up hashes (every block differs from
// it). The file stays open until the test ends.
func recordedFile(t *testing.T, store *cache.Store, name string, blocks int) *sysio.File {
	t.Helper()
	writeFile(t, name, randomBytes(uint64(blocks), blocks*testBlock))
	f, err := sysio.Open(name, sysio.ReadOnly, sysio.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	w, err := store.Create(f, int64(blocks)*testBlock, testBlock, uint8(engine.SHA256))
	if w == nil {
		t.Skipf("no record for %s (%v): its filesystem keeps none", f.Name(), err)
	}
	for i := range blocks {
		w.Put(uint64(i), []cache.Entry{{Weak: 1}})
	}
	if err := w.Commit(f); err != nil {
		t.Fatal(err)
	}
	return f
}
