package agent

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/pdiffagent/pdiffagent/engine"
)

// The soak: several clients, each with an identity of its own, push one
// file and pull another at the same time, over both transports, round after
// round, while the files change between rounds. Every result must be
// identical to its source, and after the first round (which warms pools and
// caches up) the process must not grow: goroutines, open descriptors and
// live heap stay flat. Clients and server share the process, so its heap
// bounds the server's. TestSoakShort runs in `make test`; TestSoak (build
// tag soak) runs for minutes under `make soak`.

type soakConfig struct {
	clients   int
	rounds    int
	maxTime   time.Duration // stop starting rounds after this long
	size      int           // bytes per file
	blockSize int
	workers   int
}

// soakUsage is what the process holds between rounds.
type soakUsage struct {
	goroutines int
	fds        int // -1 where /proc/self/fd is missing
	heap       uint64
}

func (u soakUsage) String() string {
	return fmt.Sprintf("%d goroutines, %d fds, heap %.1f MiB", u.goroutines, u.fds, float64(u.heap)/(1<<20))
}

func measure() soakUsage {
	runtime.GC()
	runtime.GC() // a second cycle empties the sync.Pools' victim caches
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	u := soakUsage{goroutines: runtime.NumGoroutine(), fds: -1, heap: ms.HeapAlloc}
	if ents, err := os.ReadDir("/proc/self/fd"); err == nil {
		u.fds = len(ents)
	}
	return u
}

// settled waits for the process to come back to base (goroutines and fds
// within a small slack: some close a moment after the sessions end).
func settled(base soakUsage) (soakUsage, bool) {
	var u soakUsage
	ok := waitFor(10*time.Second, func() bool {
		u = measure()
		return u.goroutines <= base.goroutines+4 && (base.fds < 0 || u.fds <= base.fds+4)
	})
	return u, ok
}

// soakFile is one client's pair: what it pushes and what it pulls.
type soakFile struct {
	pushSrc, pushDst string // local source, server target
	pullSrc, pullDst string // server source, local target
}

// mutate rewrites a few random blocks of the file at path, and sometimes
// its length, so that every round has real differences to carry.
func mutate(t *testing.T, r *rand.Rand, path string, size, blockSize int) {
	b, err := os.ReadFile(path)
	if err != nil {
		b = randomBytes(r.Uint64(), size)
	}
	for range 1 + r.IntN(8) {
		off := r.IntN(len(b)/blockSize+1) * blockSize
		copy(b[min(off, len(b)):], randomBytes(r.Uint64(), blockSize))
	}
	if len(b) < size {
		b = append(b, randomBytes(r.Uint64(), size-len(b))...)
	}
	if r.IntN(4) == 0 {
		b = b[:size-r.IntN(3*blockSize)]
	}
	writeFile(t, path, b)
}

func runSoak(t *testing.T, sc soakConfig) {
	ids := make([]*Identity, sc.clients)
	var allow []string
	for i := range ids {
		var err error
		if ids[i], err = NewIdentity(); err != nil {
			t.Fatal(err)
		}
		allow = append(allow, ids[i].Fingerprint())
	}
	ts := startServer(t, func(c *ServerConfig) {
		c.Allow, c.MaxSessionsPerClient = allow, 2
		c.Log = slog.New(slog.NewTextHandler(io.Discard, nil)) // a growing log would look like a leak
	})
	local := t.TempDir()
	files := make([]soakFile, sc.clients)
	for i := range files {
		files[i] = soakFile{
			pushSrc: filepath.Join(local, fmt.Sprintf("push-src-%d", i)), pushDst: fmt.Sprintf("pushed-%d", i),
			pullSrc: fmt.Sprintf("pull-src-%d", i), pullDst: filepath.Join(local, fmt.Sprintf("pulled-%d", i)),
		}
	}
	rng := rand.New(rand.NewPCG(7, 11))
	p := engine.Params{Session: engine.Session{BlockSize: sc.blockSize, Workers: sc.workers}}
	start := time.Now()
	var base soakUsage
	for round := 0; round < sc.rounds && (round < 2 || time.Since(start) < sc.maxTime); round++ {
		for _, f := range files {
			mutate(t, rng, f.pushSrc, sc.size, sc.blockSize)
			mutate(t, rng, filepath.Join(ts.root, f.pullSrc), sc.size, sc.blockSize)
		}
		var wg sync.WaitGroup
		errs := make(chan error, 2*sc.clients)
		for i, f := range files {
			cfg := ts.clientConfig(transports[(i+round)%2])
			cfg.Identity = ids[i]
			pullCfg := cfg
			pullCfg.Transport = transports[(i+round+1)%2]
			wg.Add(2)
			go func() {
				defer wg.Done()
				if _, err := Push(context.Background(), cfg, f.pushSrc, ts.remote(f.pushDst), p, engine.Options{}); err != nil {
					errs <- fmt.Errorf("client %d push over %s: %w", i, cfg.Transport, err)
				}
			}()
			go func() {
				defer wg.Done()
				if _, err := Pull(context.Background(), pullCfg, ts.remote(f.pullSrc), f.pullDst, p, engine.Options{}); err != nil {
					errs <- fmt.Errorf("client %d pull over %s: %w", i, pullCfg.Transport, err)
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Errorf("round %d: %v", round, err)
		}
		for i, f := range files {
			if !bytes.Equal(readFile(t, f.pushSrc), readFile(t, filepath.Join(ts.root, f.pushDst))) {
				t.Errorf("round %d: client %d: pushed file differs", round, i)
			}
			if !bytes.Equal(readFile(t, filepath.Join(ts.root, f.pullSrc)), readFile(t, f.pullDst)) {
				t.Errorf("round %d: client %d: pulled file differs", round, i)
			}
		}
		if t.Failed() {
			return
		}
		if !waitFor(time.Minute, func() bool { return ts.activeSessions() == 0 }) {
			t.Fatalf("round %d: sessions still running", round)
		}
		if round == 0 {
			base = measure()
			t.Logf("round 0 (warm-up): %v", base)
			continue
		}
		u, ok := settled(base)
		t.Logf("round %d: %v (%.0fs)", round, u, time.Since(start).Seconds())
		if !ok {
			t.Errorf("round %d: the process grew from %v to %v", round, base, u)
		}
		if limit := base.heap + max(base.heap/4, 4<<20); u.heap > limit {
			t.Errorf("round %d: live heap %d bytes, more than %d (round 0: %d)", round, u.heap, limit, base.heap)
		}
	}
}

// TestSoakShort is the soak in miniature, for every `make test`.
func TestSoakShort(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	runSoak(t, soakConfig{clients: 4, rounds: 3, maxTime: 20 * time.Second, size: 256<<10 + 123, blockSize: testBlock, workers: 3})
}
