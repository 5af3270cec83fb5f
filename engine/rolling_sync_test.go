package engine

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"sync/atomic"
	"testing"

	"github.com/pdiffagent/pdiffagent/wire"
)

// rollCaps is a session's capabilities with the search.
const rollCaps = wire.AgentCaps | wire.CapRolling

// insertAt returns b with ins inserted at off.
func insertAt(b []byte, off int, ins []byte) []byte {
	out := append([]byte(nil), b[:off]...)
	out = append(out, ins...)
	return append(out, b[off:]...)
}

// deleteAt returns b without its n bytes at off.
func deleteAt(b []byte, off, n int) []byte {
	out := append([]byte(nil), b[:off]...)
	return append(out, b[off+n:]...)
}

// rollSync syncs old to new with the search and checks the result byte
// for byte; it returns the sender's and receiver's stats.
func rollSync(t *testing.T, data, old []byte, p Params, opt Options, caps wire.Caps) (Stats, Stats) {
	t.Helper()
	src, dst := writeCase(t, syncCase{src: data, dst: old})
	sst, rst := syncCaps(t, src, dst, p, opt, caps)
	wantSynced(t, dst, data, sst, rst)
	return sst, rst
}

// wantSynced checks that dst holds data and that both sides verified it.
func wantSynced(t *testing.T, dst string, data []byte, sst, rst Stats) {
	t.Helper()
	got, err := os.ReadFile(dst)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, data) {
		t.Fatalf("target differs from source (%d and %d bytes)", len(got), len(data))
	}
	if !rst.Verified || !sst.Verified {
		t.Fatalf("not verified: sender %+v receiver %+v", sst, rst)
	}
}

// rollParams are the sessions of the search tests: 64 KiB blocks, two
// stripes.
func rollParams() Params { return Params{Session: Session{BlockSize: 64 << 10, Workers: 2}} }

// slack is what a sync may send beyond the changed bytes: the blocks
// around each stripe boundary, where a match crosses into another
// stripe, and one more. A shift of n bytes also loses n bytes at each
// stripe boundary (their source is in the other stripe) and, for a
// deletion, at the end (the receiver hashes only the new file's range).
const slack = 3 * (64 << 10)

// TestRollingInsertDelete: an insertion or deletion of 1 byte, 4 KiB and
// 1 MiB+1 near the start, middle and end of a 6 MiB file sends about the
// inserted bytes, and reuses the rest from the target.
func TestRollingInsertDelete(t *testing.T) {
	old := randBytes(10, 6*mib+333)
	for _, n := range []int{1, 4096, mib + 1} {
		for _, where := range []string{"start", "middle", "end"} {
			off := map[string]int{"start": 100, "middle": len(old)/2 + 7, "end": len(old) - n - 50}[where]
			t.Run(fmt.Sprintf("insert %d at %s", n, where), func(t *testing.T) {
				checkNoLeak(t)
				data := insertAt(old, off, randBytes(uint64(n), n))
				sst, rst := rollSync(t, data, old, rollParams(), Options{}, rollCaps)
				if sst.BytesSent > 2*int64(n)+slack || (where != "end" && rst.BlocksMoved == 0) {
					t.Errorf("sent %d bytes for %d inserted, %d blocks moved", sst.BytesSent, n, rst.BlocksMoved)
				}
			})
			t.Run(fmt.Sprintf("delete %d at %s", n, where), func(t *testing.T) {
				checkNoLeak(t)
				data := deleteAt(old, off, n)
				sst, rst := rollSync(t, data, old, rollParams(), Options{}, rollCaps)
				if sst.BytesSent > 2*int64(n)+slack || (where != "end" && rst.BlocksMoved == 0) {
					t.Errorf("sent %d bytes for %d deleted, %d blocks moved", sst.BytesSent, n, rst.BlocksMoved)
				}
			})
		}
	}
}

// TestRollingDeleteAcrossBatches: data deleted near the start of a file
// of many batches is found after every batch boundary too. Each block
// then starts with the tail of an old block whose anchor lies in the
// block before, and from a batch's last blocks on, the old blocks that
// hold their data are the next batches': the decider takes the next
// batches' verdicts and sums before it decides one (lookAhead: one batch,
// more after a fruitless search and while the copies' sources lie that
// far ahead), and the search takes the literal end of a block along
// (keepTail). Without the look-ahead a deletion of n bytes lost about n
// bytes per batch: 1 MiB of each 4 MiB batch for a 1 MiB deletion, and a
// whole one from 4 MiB; with one batch only, 6 MiB lost the stripe.
// What may go whole is the shift at the stripe boundary (n bytes: their
// source is in the other stripe), the old data past the new end (n bytes,
// never hashed) and a few blocks.
func TestRollingDeleteAcrossBatches(t *testing.T) {
	checkNoLeak(t)
	old := randBytes(12, 24*mib)
	for _, bs := range []int{256 << 10, 16 << 10} { // 256 KiB: 16 blocks a batch, 3 batches a stripe
		for _, n := range []int{100, 4096, 40000, mib + 1000, 3*mib + 5} {
			data := deleteAt(old, 1000, n)
			p := Params{Session: Session{BlockSize: bs, Workers: 2}}
			sst, rst := rollSync(t, data, old, p, Options{}, rollCaps)
			if most := int64(2*n + 8*bs); sst.BytesSent > most { // sent: 2n and a block or two
				t.Errorf("blocks of %d, %d bytes deleted: sent %d bytes, want at most %d (%d blocks moved)", bs, n, sst.BytesSent, most, rst.BlocksMoved)
			}
		}
	}
	// More than a batch: the look-ahead covers it from each stripe's
	// first searched batch on (sent 13.1 MB; with the first batch looked
	// ahead one batch, 17.3 MB; with one batch only, 27.8 MB).
	const bs, n = 256 << 10, 6*mib + 5
	old = randBytes(13, 48*mib) // stripes of 6 batches
	p := Params{Session: Session{BlockSize: bs, Workers: 2}}
	sst, rst := rollSync(t, deleteAt(old, 1000, n), old, p, Options{}, rollCaps)
	if most := int64(2*n + 2*batchBytes + 3*bs); sst.BytesSent > most {
		t.Errorf("blocks of %d, %d bytes deleted: sent %d bytes, want at most %d (%d blocks moved)", bs, n, sst.BytesSent, most, rst.BlocksMoved)
	}
}

// TestRollingManyInsertions: 20 insertions of 100 bytes spread through
// the file send a small part of it.
func TestRollingManyInsertions(t *testing.T) {
	checkNoLeak(t)
	old := randBytes(11, 8*mib)
	data := old
	for k := range 20 {
		off := (k*397 + 13) * (len(old) / 8000)
		data = insertAt(data, off, randBytes(uint64(100+k), 100))
	}
	sst, _ := rollSync(t, data, old, rollParams(), Options{}, rollCaps)
	noRoll, _ := rollSync(t, data, old, rollParams(), Options{}, wire.AgentCaps&^wire.CapRolling)
	t.Logf("sent %d bytes with the search, %d without", sst.BytesSent, noRoll.BytesSent)
	if sst.BytesSent > int64(len(data))/4 {
		t.Errorf("sent %d of %d bytes", sst.BytesSent, len(data))
	}
}

// TestRollingMovesPastEachOther: in place, a region moved forward and
// another moved backward past it are both copied from the target, each
// read before anything overwrote it.
func TestRollingMovesPastEachOther(t *testing.T) {
	checkNoLeak(t)
	const bs = 64 << 10
	old := randBytes(12, 2*mib)
	a, b := old[100<<10:100<<10+3*bs], old[900<<10:900<<10+3*bs] // unaligned, 3 blocks each
	var data []byte
	data = append(data, old[:100<<10]...)
	data = append(data, b...) // b moves backward
	data = append(data, old[100<<10+3*bs:900<<10]...)
	data = append(data, a...) // a moves forward
	data = append(data, old[900<<10+3*bs:]...)
	p := rollParams()
	p.Workers = 1
	sst, rst := rollSync(t, data, old, p, Options{}, rollCaps)
	if sst.BytesSent > 4*bs || rst.BytesReused < 4*bs {
		t.Errorf("sent %d bytes, reused %d", sst.BytesSent, rst.BytesReused)
	}
}

// TestRollingRepetitiveAndZero: data of a short period, all-zero data and
// a file of one repeated block, each with an insertion, sync exactly; the
// search stays bounded (its work at most the file's size).
func TestRollingRepetitiveAndZero(t *testing.T) {
	block := randBytes(13, 64<<10)
	period := randBytes(14, 1000)
	for _, c := range []struct {
		name string
		old  []byte
	}{
		{"period 1000", bytes.Repeat(period, 4*mib/1000)},
		{"zeros", make([]byte, 4*mib)},
		{"one repeated block", bytes.Repeat(block, 64)},
	} {
		t.Run(c.name, func(t *testing.T) {
			checkNoLeak(t)
			data := insertAt(c.old, mib+5, randBytes(15, 4096))
			sst, rst := rollSync(t, data, c.old, rollParams(), Options{}, rollCaps)
			t.Logf("sent %d, moved %d, reused %d, search work %d", sst.BytesSent, rst.BlocksMoved, rst.BytesReused, sst.searchWork)
			if sst.searchWork > int64(len(data)) {
				t.Errorf("search work %d for %d bytes", sst.searchWork, len(data))
			}
		})
	}
}

// TestRollingLastPartialBlock: an insertion before a partial last block
// moves it; it is found and copied.
func TestRollingLastPartialBlock(t *testing.T) {
	checkNoLeak(t)
	old := randBytes(16, 2*mib+40000)
	data := insertAt(old, 2*mib-1000, randBytes(17, 333))
	p := rollParams()
	p.Workers = 1
	sst, rst := rollSync(t, data, old, p, Options{}, rollCaps)
	if sst.BytesSent > 2*(64<<10) || rst.BytesReused < 40000 {
		t.Errorf("sent %d, reused %d", sst.BytesSent, rst.BytesReused)
	}
}

// TestRollingForcedCollisions: with a tier-1 hash that always collides,
// every block looks equal at its own offset and is confirmed or sent by
// its strong hash, as without the search, which has nothing to search
// (weak collisions are not searched). With the search's own tier-1 check
// forced to pass, a false candidate becomes a copy, which the receiver's
// strong hash refuses: the block comes again whole, the stripe stops
// searching, and the result is exact. With every anchor sum forced equal,
// the search's work stays within the file's size.
func TestRollingForcedCollisions(t *testing.T) {
	old := randBytes(18, 4*mib)
	data := insertAt(old, mib, randBytes(19, 4096))
	t.Run("tier 1", func(t *testing.T) {
		checkNoLeak(t)
		opt := Options{Weak: func([]byte) uint64 { return 42 }}
		sst, rst := rollSync(t, data, old, rollParams(), opt, rollCaps)
		if rst.WeakCollisions == 0 || sst.searchWork > 64<<10 { // the last block, past the old end, is searched
			t.Errorf("collisions %d, search work %d", rst.WeakCollisions, sst.searchWork)
		}
	})
	t.Run("refused", func(t *testing.T) {
		checkNoLeak(t)
		// Every old block starts with the same 4 KiB: anchors match
		// everywhere; the forced check passes every candidate.
		hdr := randBytes(23, 4096)
		old := randBytes(24, 2*mib)
		for o := 0; o < len(old); o += 64 << 10 {
			copy(old[o:], hdr)
		}
		data := append(append([]byte(nil), hdr...), randBytes(25, len(old))...)
		opt := Options{testSearchWeak: func([]byte) uint64 { return 7 }}
		p := rollParams()
		p.Workers = 1
		sst, rst := rollSync(t, data, old, p, opt, rollCaps)
		if rst.WeakCollisions == 0 || rst.BlocksMoved != 0 || sst.BlocksMoved != 0 {
			t.Errorf("refused %d copies, moved %d/%d", rst.WeakCollisions, rst.BlocksMoved, sst.BlocksMoved)
		}
	})
	t.Run("anchors", func(t *testing.T) {
		checkNoLeak(t)
		fresh := randBytes(20, len(data)) // nothing to find
		sst, _ := rollSync(t, fresh, old, rollParams(), Options{testRollCollide: true}, rollCaps)
		t.Logf("search work %d for %d bytes", sst.searchWork, len(fresh))
		if sst.searchWork > int64(len(fresh)) {
			t.Errorf("search work %d for %d bytes", sst.searchWork, len(fresh))
		}
		sst, _ = rollSync(t, data, old, rollParams(), Options{testRollCollide: true}, rollCaps)
		if sst.searchWork > int64(len(data)) {
			t.Errorf("insertion: search work %d for %d bytes", sst.searchWork, len(data))
		}
	})
}

// TestRollingCancelMidSearch: a sync cancelled from within its search
// (the third block searched) stops with the context's error within a few
// blocks, leaving no goroutine behind.
func TestRollingCancelMidSearch(t *testing.T) {
	checkNoLeak(t)
	old := randBytes(21, 4*mib)
	data := insertAt(old, 100, randBytes(22, 4096))
	src, dst := writeCase(t, syncCase{src: data, dst: old})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// Only searches that start once cancel has returned count: with two
	// workers, the other one searches on while the third search's worker
	// waits to run cancel (15 counted so under -race on a loaded machine,
	// all before the cancel).
	var calls, after atomic.Int64
	var cancelled atomic.Bool
	opt := Options{testSearchHook: func() {
		if cancelled.Load() {
			after.Add(1)
			return
		}
		if calls.Add(1) == 3 {
			cancel()
			cancelled.Store(true)
		}
	}}
	err := rollRun(ctx, t, src, dst, rollParams(), opt)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if after.Load() > 2*int64(windowBatches) {
		t.Errorf("%d blocks searched after the cancel", after.Load())
	}
}

// rollRun runs a local sync with the search, as SyncLocal does, and
// returns its error.
func rollRun(ctx context.Context, t *testing.T, src, dst string, p Params, opt Options) error {
	source, err := OpenSource(LocalOpener{}, src)
	if err != nil {
		t.Fatal(err)
	}
	defer source.File.Close()
	if p, err = p.Bind(source.Size); err != nil {
		t.Fatal(err)
	}
	p.Caps = rollCaps
	tg, err := OpenTarget(ctx, LocalOpener{}, dst, false, false)
	if err != nil {
		t.Fatal(err)
	}
	if err = tg.Create(); err == nil {
		_, err = runLocal(ctx, source, tg, p, opt)
	}
	tg.Close(err, Stats{})
	return err
}

// TestRollingWorkBound: on a file of one repeated block with an
// insertion, on random data with forced tier-1 collisions and on data
// whose every anchor sum is forced equal, a sync with the search does at
// most twice the work of one without: bytes through the tier-1 hash (the
// fixed-offset pass, the receiver's writes, the search's checks) plus the
// bytes the search rolled over.
func TestRollingWorkBound(t *testing.T) {
	block := randBytes(26, 64<<10)
	repeated := bytes.Repeat(block, 48)
	random := randBytes(27, 3*mib)
	for _, c := range []struct {
		name      string
		data, old []byte
		opt       Options
		forced    bool
	}{
		{"one repeated block", insertAt(repeated, mib+3, randBytes(28, 4096)), repeated, Options{}, false},
		{"forced tier-1 collisions", insertAt(random, mib, randBytes(29, 4096)), random, Options{}, true},
		{"forced anchors", randBytes(30, len(random)), random, Options{testRollCollide: true}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			checkNoLeak(t)
			work := func(caps wire.Caps) int64 {
				var hashed atomic.Int64
				opt := c.opt
				opt.Weak = func(b []byte) uint64 {
					hashed.Add(int64(len(b)))
					if c.forced {
						return 42
					}
					return DefaultWeak(b)
				}
				sst, _ := rollSync(t, c.data, c.old, rollParams(), opt, caps)
				return hashed.Load() + sst.searchWork
			}
			with, without := work(rollCaps), work(wire.AgentCaps&^wire.CapRolling)
			t.Logf("work %d with the search, %d without", with, without)
			if with > 2*without {
				t.Errorf("work %d with the search, more than twice %d without", with, without)
			}
		})
	}
}

// TestRollingKeepsNoReplacedBlocks: after rollStreak bytes of needed
// blocks that came whole (Data: the search found nothing) the receiver
// stops keeping their old bytes for the search (it kept a copy of every
// one: 24 MiB per worker and a copy of every needed block with all of
// them replaced), and the sync is still exact.
func TestRollingKeepsNoReplacedBlocks(t *testing.T) {
	checkNoLeak(t)
	const bs = 1 << 20
	old := randBytes(21, 48*mib)
	data := randBytes(22, 48*mib)
	var kept, held atomic.Int64
	p := Params{Session: Session{BlockSize: bs, Workers: 1}}
	_, rst := rollSync(t, data, old, p, Options{testRollKept: &kept, testRollHeld: &held}, rollCaps)
	// Kept while active: the first rollStreak bytes, and what the hasher
	// read ahead (its window) before the receiver saw them come whole.
	most := int64(rollStreak/bs + (windowBatches+1)*batchBlocks(bs))
	t.Logf("%d blocks changed, %d old blocks kept (at most %d), at most %d at once (bound %d)",
		rst.BlocksChanged, kept.Load(), most, held.Load(), rollKeepEager(bs))
	if kept.Load() > most || rst.BlocksChanged != 48 {
		t.Errorf("kept %d old blocks of %d changed, want at most %d", kept.Load(), rst.BlocksChanged, most)
	}
	// The hasher copies no more than rollKeepEager at once: without the
	// bound it held its whole lead (here 16-20 blocks).
	if held.Load() == 0 || held.Load() > int64(rollKeepEager(bs)) {
		t.Errorf("held up to %d old blocks at once, want 1 to %d", held.Load(), rollKeepEager(bs))
	}
}

// TestRollingKeepsNoRefinedBlocks: a needed block that refinement serves
// in place (SubData, no pieces: 8 KiB pages rewritten) counts whole for
// the search's keeping, so after rollStreak bytes of them the receiver
// stops copying needed blocks; counting only the sub-blocks sent kept a
// copy of every one.
func TestRollingKeepsNoRefinedBlocks(t *testing.T) {
	checkNoLeak(t)
	const bs = 1 << 20
	old := randBytes(23, 48*mib)
	data := bytes.Clone(old)
	for i := range 48 { // one page in each block
		copy(data[i*bs+(i%100)*8192:], randBytes(uint64(100+i), 8192))
	}
	var kept atomic.Int64
	p := Params{Session: Session{BlockSize: bs, Workers: 1}}
	_, rst := rollSync(t, data, old, p, Options{testRollKept: &kept}, rollCaps)
	most := int64(rollStreak/bs + (windowBatches+1)*batchBlocks(bs))
	t.Logf("%d blocks refined, %d old blocks kept (at most %d)", rst.BlocksRefined, kept.Load(), most)
	if kept.Load() > most || rst.BlocksRefined != 48 {
		t.Errorf("kept %d old blocks of %d refined, want at most %d", kept.Load(), rst.BlocksRefined, most)
	}
}

// TestRollingAllCopiesRefused: every copy the sender makes carries a
// wrong strong hash, so the receiver refuses every block sent in pieces,
// as many as the sender sends before it reads the first refusal (the
// refusals cross the pieces still coming). The sync completes exact,
// each refused block sent again whole. The receiver's reader once sent
// each Refused itself and blocked there while the sender, blocked
// sending pieces, read nothing: the sync hung.
func TestRollingAllCopiesRefused(t *testing.T) {
	old := randBytes(31, 16*mib)
	data := old
	for _, at := range []int{mib, 5 * mib, 9 * mib, 13 * mib} { // a shift in every stripe
		data = insertAt(data, at, randBytes(uint64(at), 100))
	}
	for _, workers := range []int{1, 2} {
		t.Run(fmt.Sprint(workers), func(t *testing.T) {
			checkNoLeak(t)
			p := rollParams()
			p.Workers = workers
			sst, rst := rollSync(t, data, old, p, Options{testBadCopy: func(int64) bool { return true }}, rollCaps)
			t.Logf("refused %d, moved %d, sent %d", rst.WeakCollisions, rst.BlocksMoved, sst.BytesSent)
			if rst.WeakCollisions == 0 || rst.BlocksMoved != 0 {
				t.Errorf("refused %d copies, moved %d", rst.WeakCollisions, rst.BlocksMoved)
			}
		})
	}
}

// TestRollingSomeCopiesRefused: the copies into even blocks carry wrong
// strong hashes. The receiver checks the copies of a few complete blocks
// together: in each group it writes the blocks whose copies match and
// refuses the others, which come again whole; the result is exact.
func TestRollingSomeCopiesRefused(t *testing.T) {
	checkNoLeak(t)
	old := randBytes(41, 8*mib)
	data := insertAt(old, 64<<10, randBytes(42, 100))
	p := rollParams()
	p.Workers = 1
	sst, rst := rollSync(t, data, old, p, Options{testBadCopy: func(b int64) bool { return b%2 == 0 }}, rollCaps)
	t.Logf("refused %d, moved %d, sent %d", rst.WeakCollisions, rst.BlocksMoved, sst.BytesSent)
	if rst.WeakCollisions == 0 || rst.BlocksMoved == 0 {
		t.Errorf("refused %d blocks, moved %d: want some of each", rst.WeakCollisions, rst.BlocksMoved)
	}
}

// TestRollingEmptyIndex: a new target (nothing to offer) gives the
// sender's search an empty index, and a block searched against it costs
// no work (each block was rolled over whole, finding nothing), while the
// streak still counts it: the result is exact and the work zero.
func TestRollingEmptyIndex(t *testing.T) {
	checkNoLeak(t)
	data := randBytes(41, 4*mib)
	sst, rst := rollSync(t, data, nil, rollParams(), Options{}, rollCaps)
	t.Logf("sent %d blocks, search work %d", rst.BlocksChanged, sst.searchWork)
	if sst.searchWork != 0 || rst.BlocksChanged != int64(len(data)/(64<<10)) {
		t.Errorf("search work %d, %d blocks sent", sst.searchWork, rst.BlocksChanged)
	}
}

// TestRollingWinPooled: the sender's search buffer of full size (the
// tail's room and two blocks) goes back to the block buffers' pool when
// its stripe ends, and the next sync takes it again instead of carving
// another from sysio's slabs (a tree's files, one after another). How
// many stripes reach a full-size search moves with timing, so the check
// is the bound: after each of several syncs the pool holds at least one
// and never more than one per worker (carved anew each time, it would
// grow by at least one a sync).
func TestRollingWinPooled(t *testing.T) {
	checkNoLeak(t)
	const bs = 32 << 10 // a size no other test's window has: room 32 KiB + two blocks
	const workers = 2
	p := Params{Session: Session{BlockSize: bs, Workers: workers}}
	l := freeListOf(bs + 2*bs)
	count := func() int { l.mu.Lock(); defer l.mu.Unlock(); return len(l.bufs) }
	l.mu.Lock()
	l.bufs = nil // what an earlier run (-count) left
	l.mu.Unlock()
	old := randBytes(61, 4*mib)
	data := insertAt(old, 5000, randBytes(62, 4096))
	var counts []int
	for range 2 * workers {
		rollSync(t, data, old, p, Options{}, rollCaps)
		counts = append(counts, count())
	}
	for _, n := range counts {
		if n < 1 || n > workers {
			t.Errorf("full search buffers in the pool after each sync: %v; want 1 to %d", counts, workers)
			break
		}
	}
}

// TestRollingDeleteManyStripes: after a deletion of two batches with
// many stripes, each stripe's first searched batch looks as far ahead as
// the search goes and finds its data. Looked ahead one batch, every
// stripe's first batch found nothing, and four of them made the search
// quiet before any looked farther: the rest of every stripe went whole.
// What goes whole is the shift at each stripe boundary and the old data
// past the new end (n bytes each) and a few blocks. Which stripe decided
// first made it quiet sooner or later on a loaded machine (40-47 MB sent,
// CI failed on it), so each stripe now searches until its own search
// goes cold (sendRoll.hot); with the shared streak stuck quiet, as if
// other stripes' fruitless searches came between any two of a stripe's,
// it finds the same.
func TestRollingDeleteManyStripes(t *testing.T) {
	checkNoLeak(t)
	const bs, n, workers = 256 << 10, 8*mib + 5, 4
	old := randBytes(15, 64*mib) // stripes of 4 batches
	p := Params{Session: Session{BlockSize: bs, Workers: workers}}
	for _, stuck := range []bool{false, true} {
		sst, rst := rollSync(t, deleteAt(old, 1000, n), old, p, Options{Search: &SearchShare{testStuck: stuck}}, rollCaps)
		t.Logf("stuck %v: sent %d bytes, %d blocks moved", stuck, sst.BytesSent, rst.BlocksMoved)
		if most := int64(workers*n + 8*bs); sst.BytesSent > most {
			t.Errorf("%d bytes deleted, %d workers, shared streak stuck quiet %v: sent %d bytes, want at most %d (%d blocks moved)", n, workers, stuck, sst.BytesSent, most, rst.BlocksMoved)
		}
	}
}

// TestRollingHotAfterFind: a stripe whose search found moved data keeps
// searching whatever the shared streak says until rollHot bytes of its
// own searches in a row found nothing (sendRoll.hot). Here blocks of new
// data break the chain of copies after a deletion, and the shared streak
// is stuck quiet as if other stripes' fruitless searches came in between:
// the shifted data after them is found again, not sent.
func TestRollingHotAfterFind(t *testing.T) {
	checkNoLeak(t)
	const bs, del, fresh = 64 << 10, 10000, 3 * 64 << 10
	old := randBytes(16, 16*mib)
	data := deleteAt(old, mib, del)
	copy(data[6*mib:], randBytes(17, fresh))
	p := Params{Session: Session{BlockSize: bs, Workers: 1}}
	sst, rst := rollSync(t, data, old, p, Options{Search: &SearchShare{testStuck: true}}, rollCaps)
	if most := int64(fresh + 4*bs); sst.BytesSent > most {
		t.Errorf("sent %d bytes, want at most %d (%d blocks moved)", sst.BytesSent, most, rst.BlocksMoved)
	}
}
