package engine

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
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
	err      error // the receiver's, of the last pair
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

// params are the rig's, with a local sync's capabilities (SyncLocal sets
// them; pair and lazify need the same to make and find the same records).
func (g *cacheRig) params(noCache bool) Params {
	return Params{Session: Session{BlockSize: testBS, Workers: 3, NoCache: noCache, Caps: wire.AgentCaps}}
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

// wantCache checks the target side's account in st; wantSource the
// source side's.
func wantCache(t *testing.T, st Stats, cache string, read int64) {
	t.Helper()
	if st.TargetCache != cache || st.TargetRead != read {
		t.Fatalf("target cache %s, read %d; want %s, %d (%+v)", st.TargetCache, st.TargetRead, cache, read, st)
	}
}

func wantSource(t *testing.T, st Stats, cache string, read int64) {
	t.Helper()
	if st.SourceCache != cache || st.SourceRead != read {
		t.Fatalf("source cache %s, read %d; want %s, %d (%+v)", st.SourceCache, st.SourceRead, cache, read, st)
	}
}

// TestCacheReadsNothingUnchanged: after one sync, the receiver of an
// unchanged replica takes its hashes from the record and reads no block
// it keeps, whatever changed at the source (the blocks the last sync
// wrote included: they were recorded with both hashes), only the few it
// rewrites, whose old bytes the search may copy from (doc.go, "Rolling
// search"); a sender with an unchanged source reads only the blocks it
// sends; both unchanged, neither reads anything. Every sync is still
// verified.
func TestCacheReadsNothingUnchanged(t *testing.T) {
	g := newCacheRig(t)
	size := int64(len(g.data))
	// Each side's account, as it saw it and as the other heard it.
	check := func(srcWord string, srcRead int64, dstWord string, dstRead int64) Stats {
		t.Helper()
		snd, rcv := g.pair(g.params(false), nil)
		for _, st := range []Stats{snd, rcv} {
			wantSource(t, st, srcWord, srcRead)
			wantCache(t, st, dstWord, dstRead)
		}
		return rcv
	}
	check("miss", size, "miss", size) // sends blocks 0, 9 and 40
	g.changeSource(100, 20*testBS, 63*testBS)
	if st := check("stale", size, "hit", 2*testBS+size-63*testBS); st.BlocksChanged != 3 {
		t.Fatalf("%d blocks changed, want 3", st.BlocksChanged)
	}
	check("hit", 0, "hit", 0)
	// The replica changed behind our back: the sender reads just the
	// block it must send.
	os.WriteFile(g.dst, flip(g.data, 7*testBS), 0o644)
	check("hit", testBS, "stale", size)
}

// pair runs both sides of a sync of the rig, with their own stats; a
// non-nil wrap wraps the receiver's streams. It checks the result only
// when both sides succeed.
func (g *cacheRig) pair(p Params, wrap func(Stream) Stream) (snd, rcv Stats) {
	g.t.Helper()
	p, err := p.Bind(int64(len(g.data)))
	if err != nil {
		g.t.Fatal(err)
	}
	sf, _ := sysio.Open(g.src, sysio.ReadOnly, sysio.Options{})
	defer sf.Close()
	df, _ := sysio.Open(g.dst, sysio.ReadWrite, sysio.Options{})
	defer df.Close()
	src, _ := NewSource(sf)
	ss, rs := make([]Stream, p.Workers), make([]Stream, p.Workers)
	for i := range ss {
		ss[i], rs[i] = Pipe()
		if wrap != nil {
			rs[i] = wrap(rs[i])
		}
	}
	var wg sync.WaitGroup
	var serr, rerr error
	wg.Add(1)
	go func() {
		defer wg.Done()
		snd, serr = Send(context.Background(), src, p, ss, Options{Cache: g.store})
	}()
	rcv, rerr = Receive(context.Background(), df, p, rs, Options{Cache: g.store})
	wg.Wait()
	if wrap == nil {
		if serr != nil || rerr != nil {
			g.t.Fatalf("sender: %v; receiver: %v", serr, rerr)
		}
		g.same()
		if !snd.Verified || !rcv.Verified {
			g.t.Fatalf("not verified: %+v %+v", snd, rcv)
		}
	}
	g.err = rerr
	return snd, rcv
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

// TestCacheNoCacheReadsAndKeepsNone: --no-cache reads everything and
// trusts nothing; it leaves alone the records of files it does not
// write, makes none of its own, and removes the target's that its
// writes make stale.
func TestCacheNoCacheReadsAndKeepsNone(t *testing.T) {
	g := newCacheRig(t)
	g.sync(false)
	wantCache(t, g.sync(true), "off", int64(len(g.data)))
	wantCache(t, g.sync(false), "hit", 0) // nothing written: the records stay
	g.changeSource(3 * testBS)
	wantCache(t, g.sync(true), "off", int64(len(g.data)))
	if _, err := os.Stat(recordFile(t, g.store, g.dst)); !os.IsNotExist(err) {
		t.Fatalf("the target's record after a --no-cache sync that wrote it: %v, want none", err)
	}
	wantCache(t, g.sync(false), "miss", int64(len(g.data)))
	wantCache(t, g.sync(false), "hit", 0)
}

// TestCacheCorruptRecord: a torn record header is a miss; a corrupt chunk
// makes the blocks it covers be read, and the rest still come from the
// record. Either way the result is right.
func TestCacheCorruptRecord(t *testing.T) {
	g := newCacheRig(t)
	g.sync(false)
	rec := recordFile(t, g.store, g.dst)
	os.Truncate(rec, 50)
	wantCache(t, g.sync(false), "miss", int64(len(g.data)))

	rec = recordFile(t, g.store, g.dst)
	b, _ := os.ReadFile(rec)
	b[128+16+5] ^= 1 // the one chunk (64 blocks < 1024): its first entry, after the header and chunk head
	os.WriteFile(rec, b, 0o600)
	st := g.sync(false)
	if st.TargetCache != "hit" || st.TargetRead != int64(len(g.data)) {
		t.Fatalf("corrupt chunk: %+v", st)
	}
}

// recordFile is the path of file's record.
func recordFile(t *testing.T, s *cache.Store, file string) string {
	t.Helper()
	f, err := sysio.Open(file, sysio.ReadOnly, sysio.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	p, err := s.RecordPath(f)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// lossyStream fails Recv once the session has received limit Data
// messages on all streams: a link lost mid-way. The count is taken after
// each receive, so streams racing past the first check cannot deliver
// more than limit between them (under -race, with several streams, a
// check before the receive alone let a 41st block through).
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
	if _, ok := m.(*wire.Data); ok && s.got.Add(1) > s.limit {
		return nil, errLinkLost
	}
	return m, err
}

// TestCacheResumeAfterLostLink: a 100%-changed sync whose link is lost
// after 40 of 64 blocks leaves a sealed journal; the rerun trusts it for
// the blocks it logged (with both hashes, taken as they were written),
// reading and sending only the rest; the run after it reads nothing.
func TestCacheResumeAfterLostLink(t *testing.T) {
	g := newCacheRig(t)
	old := randBytes(8, len(g.data))
	os.WriteFile(g.dst, old, 0o644)
	var got atomic.Int64
	// Without the search: with it the receiver had written nothing when
	// the 40th Data arrived in up to half the runs on 2 cores (every run on
	// one), and the journal then logs nothing to resume.
	p := g.params(false)
	p.Caps &^= wire.CapRolling
	_, st := g.pair(p, func(s Stream) Stream { return &lossyStream{s, &got, 40} })
	if !errors.Is(g.err, errLinkLost) {
		t.Fatalf("interrupted sync: %v", g.err)
	}
	written := st.BytesWritten
	if written == 0 || written > 40*testBS {
		t.Fatalf("%d bytes written before the link was lost", written)
	}

	st = g.sync(false)
	size := int64(len(g.data))
	if st.TargetCache != "resume" || st.TargetRead != size-written || st.BytesSent != size-written || st.BlocksConfirmed == 0 {
		t.Fatalf("rerun after %d bytes written: %+v", written, st)
	}
	wantCache(t, g.sync(false), "hit", 0)
}

// TestScrub: verify's scrub re-reads the file and lists exactly the
// blocks written behind pdiffagent's back; a file without a record is an
// error.
func TestScrub(t *testing.T) {
	g := newCacheRig(t)
	g.sync(false)
	f, err := sysio.Open(g.dst, sysio.ReadWrite, sysio.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	res, err := Scrub(context.Background(), f, g.store, Options{})
	if err != nil || res.Differ != 0 || !res.Current || res.Blocks != cacheBlocks || res.BytesRead != int64(len(g.data)) ||
		res.WeakOnly != 0 { // blocks 0, 9 and 40 were written, and recorded with both hashes
		t.Fatalf("clean scrub: %v %+v", err, res)
	}
	f.WriteAt([]byte("rot"), 12*testBS+5)
	f.WriteAt([]byte("rot"), 50*testBS)
	res, err = Scrub(context.Background(), f, g.store, Options{})
	if err != nil || res.Differ != 2 || res.Current || len(res.Bad) != 2 || res.Bad[0] != 12 || res.Bad[1] != 50 {
		t.Fatalf("scrub after two writes: %v %+v", err, res)
	}
	sf, _ := sysio.Open(g.src, sysio.ReadOnly, sysio.Options{})
	defer sf.Close()
	os.Remove(recordFile(t, g.store, g.src))
	if _, err := Scrub(context.Background(), sf, g.store, Options{}); !errors.Is(err, ErrNoRecord) {
		t.Fatalf("scrub without a record: %v", err)
	}
}
