package engine

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/pdiffagent/pdiffagent/engine/cache"
	"github.com/pdiffagent/pdiffagent/sysio"
	"github.com/pdiffagent/pdiffagent/wire"
)

const cacheBlocks = 64

type cacheRig struct {
	t        *testing.T
	src, dst string
	data     []byte
	store    *cache.Store
}

func newCacheRig(t *testing.T) *cacheRig {
	checkNoLeak(t)
	dir := t.TempDir()
	s, err := cache.Open(cache.Options{Dir: filepath.Join(dir, "cache")})
	if err != nil {
		t.Fatal(err)
	}
	g := &cacheRig{t: t, src: filepath.Join(dir, "src"), dst: filepath.Join(dir, "dst"), store: s}
	g.data = randBytes(7, cacheBlocks*testBS-100)
	os.WriteFile(g.src, g.data, 0o644)
	os.WriteFile(g.dst, flip(g.data, 5, 9*testBS, 40*testBS+3), 0o644)
	return g
}

func (g *cacheRig) params(noCache bool) Params {
	return Params{Session: Session{BlockSize: testBS, Workers: 3, NoCache: noCache}}
}

// sync runs a local sync and checks the target is the source.
func (g *cacheRig) sync(noCache bool) Stats {
	g.t.Helper()
	st, err := SyncLocal(context.Background(), g.src, g.dst, g.params(noCache), Options{Cache: g.store})
	if err != nil {
		g.t.Fatal(err)
	}
	g.same()
	if !st.Verified {
		g.t.Fatalf("not verified: %+v", st)
	}
	return st
}

func (g *cacheRig) same() {
	g.t.Helper()
	got, _ := os.ReadFile(g.dst)
	if !bytes.Equal(got, g.data) {
		g.t.Fatal("target differs from source")
	}
}

func (g *cacheRig) changeSource(offs ...int) {
	g.data = flip(g.data, offs...)
	os.WriteFile(g.src, g.data, 0o644)
}

func wantCache(t *testing.T, st Stats, cache string, read int64) {
	t.Helper()
	if st.Cache != cache || st.BytesRead != read {
		t.Fatalf("cache %s, read %d; want %s, %d (%+v)", st.Cache, st.BytesRead, cache, read, st)
	}
}

// TestCacheReceiverReadsNothingUnchanged: after one sync, the receiver of
// an unchanged replica takes its hashes from the record and reads no
// block, whatever changed at the source; the sync is still verified.
func TestCacheReceiverReadsNothingUnchanged(t *testing.T) {
	g := newCacheRig(t)
	size := int64(len(g.data))
	wantCache(t, g.sync(false), "miss", size)
	g.changeSource(100, 20*testBS, 63*testBS)
	st := g.sync(false)
	wantCache(t, st, "hit", 0)
	if st.BlocksChanged != 3 {
		t.Fatalf("%d blocks changed, want 3", st.BlocksChanged)
	}
	wantCache(t, g.sync(false), "hit", 0)
}

// TestCacheSeesWriteBehindItsBack: a write to the replica that restores
// its mtime (dd conv=notrunc; touch -r) makes the record stale; the
// target is read whole and repaired.
func TestCacheSeesWriteBehindItsBack(t *testing.T) {
	g := newCacheRig(t)
	g.sync(false)
	fi, _ := os.Stat(g.dst)
	f, _ := os.OpenFile(g.dst, os.O_WRONLY, 0)
	f.WriteAt([]byte("behind your back"), 30*testBS)
	f.Close()
	os.Chtimes(g.dst, fi.ModTime(), fi.ModTime())
	if fi2, _ := os.Stat(g.dst); !fi2.ModTime().Equal(fi.ModTime()) {
		t.Fatal("mtime not restored")
	}
	st := g.sync(false)
	wantCache(t, st, "stale", int64(len(g.data)))
	if st.BlocksChanged != 1 {
		t.Fatalf("%d blocks repaired, want 1", st.BlocksChanged)
	}
	wantCache(t, g.sync(false), "hit", 0)
}

// TestCacheNoCacheReadsAndRecords: --no-cache reads everything, trusts
// nothing, and still leaves a fresh record.
func TestCacheNoCacheReadsAndRecords(t *testing.T) {
	g := newCacheRig(t)
	g.sync(false)
	wantCache(t, g.sync(true), "off", int64(len(g.data)))
	wantCache(t, g.sync(false), "hit", 0)
}

// TestCacheCorruptRecord: a torn record header is a miss; a corrupt chunk
// makes the blocks it covers be read, and the rest still come from the
// record. Either way the result is right.
func TestCacheCorruptRecord(t *testing.T) {
	g := newCacheRig(t)
	g.sync(false)
	rec := recordFile(t, g.store)
	os.Truncate(rec, 50)
	wantCache(t, g.sync(false), "miss", int64(len(g.data)))

	rec = recordFile(t, g.store)
	b, _ := os.ReadFile(rec)
	b[len(b)-10] ^= 1 // the one chunk (64 blocks < 1024)
	os.WriteFile(rec, b, 0o600)
	st := g.sync(false)
	if st.Cache != "hit" || st.BytesRead != int64(len(g.data)) {
		t.Fatalf("corrupt chunk: %+v", st)
	}
}

func recordFile(t *testing.T, s *cache.Store) string {
	t.Helper()
	ents, _ := os.ReadDir(s.Dir())
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), "r-") {
			return filepath.Join(s.Dir(), e.Name())
		}
	}
	t.Fatalf("no record in %v", ents)
	return ""
}

// lossyStream fails Recv once the session has received limit Data
// messages on all streams: a link lost mid-way.
type lossyStream struct {
	Stream
	got   *atomic.Int64
	limit int64
}

var errLinkLost = errors.New("link lost")

func (s *lossyStream) Recv() (wire.Message, error) {
	if s.got.Load() >= s.limit {
		return nil, errLinkLost
	}
	m, err := s.Stream.Recv()
	if _, ok := m.(*wire.Data); ok {
		s.got.Add(1)
	}
	return m, err
}

// TestCacheResumeAfterLostLink: a 100%-changed sync whose link is lost
// after 40 of 64 blocks leaves a sealed journal; the rerun trusts it for
// the blocks it logged, reading and sending only the rest.
func TestCacheResumeAfterLostLink(t *testing.T) {
	g := newCacheRig(t)
	old := randBytes(8, len(g.data))
	os.WriteFile(g.dst, old, 0o644)
	p, err := g.params(false).Bind(int64(len(g.data)))
	if err != nil {
		t.Fatal(err)
	}
	p.Workers = 1 // blocks arrive in order, so the first 40 are the ones logged
	sf, _ := sysio.Open(g.src, sysio.ReadOnly, sysio.Options{})
	defer sf.Close()
	df, _ := sysio.Open(g.dst, sysio.ReadWrite, sysio.Options{})
	defer df.Close()
	src, _ := NewSource(sf)
	a, b := Pipe()
	var got atomic.Int64
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		Send(context.Background(), src, p, []Stream{a}, Options{})
	}()
	st, err := Receive(context.Background(), df, p, []Stream{&lossyStream{b, &got, 40}}, Options{Cache: g.store})
	wg.Wait()
	if !errors.Is(err, errLinkLost) {
		t.Fatalf("interrupted sync: %v", err)
	}
	written := st.BytesWritten
	if written == 0 || written > 40*testBS {
		t.Fatalf("%d bytes written before the link was lost", written)
	}
	df.Close()
	sf.Close()

	st = g.sync(false)
	size := int64(len(g.data))
	if st.Cache != "resume" || st.BytesRead > size-written || st.BytesSent > size-written+testBS {
		t.Fatalf("rerun after %d bytes written: %+v", written, st)
	}
	wantCache(t, g.sync(false), "hit", 0)
}
