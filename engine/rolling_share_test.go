package engine

import (
	"sync/atomic"
	"testing"

	"github.com/pdiffagent/pdiffagent/wire"
)

// TestSearchShare: files synced one after another, each replaced by new
// data (a tree's rewritten small files), are each searched whole when
// each sync has its own streak, and only up to about rollStreak bytes in
// all (plus probes) when they share one (Options.Search); every file is
// still exact (rollSync compares it).
func TestSearchShare(t *testing.T) {
	const files, size = 24, mib
	p := rollParams()
	p.Workers = 1
	work := func(share *SearchShare) int64 {
		var sum int64
		for i := range files {
			opt := Options{Search: share}
			sst, _ := rollSync(t, randBytes(uint64(100+i), size), randBytes(uint64(200+i), size), p, opt, rollCaps)
			sum += sst.searchWork
		}
		return sum
	}
	alone, shared := work(nil), work(new(SearchShare))
	t.Logf("search work over %d replaced files of %d bytes: %d alone, %d shared", files, size, alone, shared)
	if alone < files*size {
		t.Fatalf("each file alone searched %d bytes in all, want at least %d (every file whole)", alone, files*size)
	}
	// The work per searched byte is the files' alone (rolled, then
	// checked); shared, they may search rollStreak bytes and a few probes.
	if most := int64(float64(alone) / (files * size) * (rollStreak + 4*size)); shared > most {
		t.Errorf("with one streak the search did %d bytes of work, want at most %d (rollStreak and a few probes)", shared, most)
	}
}

// TestRecvShare: the receiver's streaks carry over the syncs that share a
// RecvShare (a tree's files). After a file whose blocks all came whole, a
// small rewritten file is neither refined nor kept for the search, as it
// is alone (its blocks offered in sub-blocks, each needed block copied
// for copies that never come); and files with one page changed each are
// refined again from the first probe, refineProbe needed blocks on.
func TestRecvShare(t *testing.T) {
	checkNoLeak(t)
	p := Params{Session: Session{BlockSize: 64 << 10, Workers: 1}}
	run := func(share *RecvShare, data, old []byte) (Stats, int64) {
		t.Helper()
		var kept atomic.Int64
		src, dst := writeCase(t, syncCase{src: data, dst: old})
		// Every batch asked: the streaks' counts are those of asked
		// batches (unasked ones count their blocks alike, but start later).
		sst, rst := syncCaps(t, src, dst, p, Options{Recv: share, testRollKept: &kept}, rollCaps&^wire.CapUnasked)
		wantSynced(t, dst, data, sst, rst)
		return sst, kept.Load()
	}
	share := new(RecvShare)
	big := randBytes(51, 16*mib) // replaced whole: past both streaks
	run(share, big, randBytes(52, len(big)))
	small, old := randBytes(53, 4<<16), randBytes(54, 4<<16)
	alone, keptAlone := run(nil, small, old)
	shared, keptShared := run(share, small, old)
	// Its four blocks' sub-block hashes, less one block's: a refinement
	// probe (one needed block in refineProbe) may fall on it, by where the
	// count stood after the big file (which moves with the sender's
	// read-ahead).
	sums := int64(3 * (64 << 10) / refineSub * (8 + wire.StrongSize))
	if keptAlone == 0 || keptShared != 0 || shared.BytesWire > alone.BytesWire-sums {
		t.Errorf("a small file alone: %d bytes on the wire, %d blocks kept; after the big one: %d, %d", alone.BytesWire, keptAlone, shared.BytesWire, keptShared)
	}
	// A long file after the streak ran out again: its first needed block
	// is a probe (alone with the shared streak, its two changed pages
	// went as two whole blocks).
	run(share, big, randBytes(55, len(big)))
	long := randBytes(56, 32*mib)
	lold := append([]byte(nil), long...)
	copy(lold[100:], randBytes(57, 4<<10))
	copy(lold[500<<16:], randBytes(58, 4<<10))
	if st, _ := run(share, long, lold); st.SubBlocksSent == 0 || st.BytesSent >= 2<<16 {
		t.Errorf("a long file after the streak: %d bytes sent, %d sub-blocks; want its first changed block refined", st.BytesSent, st.SubBlocksSent)
	}
	// One 4 KiB page changed per one-block file, after the streak ran out
	// once more: unrefined until a probe (whole blocks sent), refined from
	// then on.
	run(share, big, randBytes(59, len(big)))
	// Where the probe count stood after the big file moves with the
	// sender's read-ahead; from 63 the first page file was a probe,
	// refined, and every one after it too (twice in about 100 runs on a
	// loaded machine). Counted from 0, the probe is the refineProbe-th
	// file.
	share.refine.probe.Store(0)
	page := func(i int) ([]byte, []byte) {
		d := randBytes(uint64(100+i), 64<<10)
		o := append([]byte(nil), d...)
		copy(o[8<<10:], randBytes(uint64(1000+i), 4<<10))
		return d, o
	}
	var sent []int64
	for i := range refineProbe + 8 {
		d, o := page(i)
		st, _ := run(share, d, o)
		sent = append(sent, st.BytesSent)
	}
	for i, n := range sent {
		if want := int64(64 << 10); i >= refineProbe-1 && n != 4<<10 || i < refineProbe-1 && n != want {
			t.Errorf("bytes sent per file with one page changed: %v; want whole blocks up to the probe (file %d), one page from then on", sent, refineProbe)
			break
		}
	}
}
