package engine

import (
	"testing"

	"github.com/pdiffagent/pdiffagent/wire"
)

// spreadEdits is a random 8 MiB and the same with n chunks of 100 random
// bytes inserted, spread through it.
func spreadEdits(n int) (plain, inserted []byte) {
	plain = randBytes(11, 8*mib)
	inserted = plain
	for k := range n {
		off := (k*397 + 13) * (len(plain) / 8000)
		inserted = insertAt(inserted, off, randBytes(uint64(100+k), 100))
	}
	return plain, inserted
}

// TestRollingSubEdits: 20 insertions of 100 bytes into moved data, and
// 20 deletions, cost about a sub-block each, not the block each falls in:
// the search's literal around each is found again by the old blocks'
// sub-block sums (rolling_subs.go). Without it the insertions sent 1.3 MB
// of 8 MiB in 64 KiB blocks, the deletions 332 KB (of 1 GiB, 100 of them:
// 102 MB and 37 MB). After a deletion the block's end holds the next old
// block's data (its sums, when in hand), and the next block begins where
// the last copy's shift left off.
func TestRollingSubEdits(t *testing.T) {
	checkNoLeak(t)
	const n = 20
	plain, inserted := spreadEdits(n)
	p := rollParams()
	for _, c := range []struct {
		name      string
		data, old []byte
	}{{"insertions", inserted, plain}, {"deletions", plain, inserted}} {
		sst, rst := rollSync(t, c.data, c.old, p, Options{}, rollCaps)
		t.Logf("%s: sent %d bytes (%d blocks moved, bytes_wire %d)", c.name, sst.BytesSent, rst.BlocksMoved, sst.BytesWire)
		// Each edit: its bytes and the sub-block it falls in; each stripe
		// boundary and the old data past the new end: the shift so far
		// and a sub-block.
		if most := int64(n*(100+refineSub) + (p.Workers+1)*(n*100+refineSub)); sst.BytesSent > most {
			t.Errorf("%s: sent %d bytes, want at most %d", c.name, sst.BytesSent, most)
		}
	}
}

// TestRollingSubWeakOnly: with every block shifted, refinement stops after
// refineStreak blocks that came in pieces, and the insertions after that
// are found by the sub-block sums offered by tier-1 hashes alone
// (wire.CapSubWeak), 8 bytes a sub-block on the wire; without them each
// cost its 64 KiB block.
func TestRollingSubWeakOnly(t *testing.T) {
	checkNoLeak(t)
	old := randBytes(21, 32*mib)
	data := insertAt(old, 100<<10, randBytes(22, 100))
	for k, at := range []int{20 * mib, 24*mib + 5000, 28*mib + 70000} {
		data = insertAt(data, at, randBytes(uint64(23+k), 100))
	}
	p := Params{Session: Session{BlockSize: 64 << 10, Workers: 1}}
	sst, _ := rollSync(t, data, old, p, Options{}, rollCaps)
	full, _ := rollSync(t, data, old, p, Options{}, rollCaps&^wire.CapSubWeak)
	t.Logf("sent %d bytes (bytes_wire %d); without WeakOnly sums %d (bytes_wire %d)", sst.BytesSent, sst.BytesWire, full.BytesSent, full.BytesWire)
	if most := int64(4 * (refineSub + 100)); sst.BytesSent > most {
		t.Errorf("sent %d bytes, want at most %d", sst.BytesSent, most)
	}
	if full.BytesSent < sst.BytesSent+64<<10 {
		t.Errorf("without WeakOnly sums sent %d bytes, with them %d: want a later insertion sent in its block without them (or a refinement probe)", full.BytesSent, sst.BytesSent)
	}
	// The sums cost 8 bytes a sub-block of the needed blocks.
	if extra := sst.BytesWire - full.BytesWire + (full.BytesSent - sst.BytesSent); extra > int64(len(data))/refineSub*8+64<<10 {
		t.Errorf("WeakOnly sums took %d bytes on the wire", extra)
	}
}

// TestRollingSubTwoEdits: two insertions in one block, each found by the
// shifts of the copies around it (the second's only from the next old
// block's anchor), and a deletion; copies never span two old blocks (a
// CopyFrom names one: the receiver refuses the session otherwise).
func TestRollingSubTwoEdits(t *testing.T) {
	checkNoLeak(t)
	const bs = 256 << 10
	old := randBytes(12, 4*mib)
	data := insertAt(old, mib+1000, randBytes(13, 300))
	data = insertAt(data, mib+200<<10, randBytes(14, 50))
	data = deleteAt(data, 3*mib+5000, 700)
	p := Params{Session: Session{BlockSize: bs, Workers: 1}}
	sst, rst := rollSync(t, data, old, p, Options{}, rollCaps)
	t.Logf("sent %d bytes, %d blocks moved", sst.BytesSent, rst.BlocksMoved)
	if most := int64(3 * (refineSub + 300)); sst.BytesSent > most {
		t.Errorf("sent %d bytes, want at most %d", sst.BytesSent, most)
	}
}

// TestMergeMatches: overlapping matches are trimmed (the one that starts
// first keeps its bytes), contiguous ones joined, but not across a source
// block's end (sub-blocks of 16 bytes, blocks of 64).
func TestMergeMatches(t *testing.T) {
	got := mergeMatches([]subMatch{
		{off: 48, n: 16, src: 80}, // overlaps by 8: starts at 56, from 88
		{off: 0, n: 16, src: 16},
		{off: 16, n: 16, src: 32},
		{off: 32, n: 16, src: 64},  // contiguous with 32+16=48, but in old block 1
		{off: 40, n: 16, src: 300}, // overlaps by 8: starts at 48, from 308
		{off: 70, n: 16, src: 500},
		{off: 80, n: 16, src: 600}, // overlaps by 6: starts at 86, from 606
	}, 64)
	want := []subMatch{{off: 0, n: 32, src: 16}, {off: 32, n: 16, src: 64}, {off: 48, n: 8, src: 308}, {off: 56, n: 8, src: 88}, {off: 70, n: 16, src: 500}, {off: 86, n: 10, src: 606}}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("got %v, want %v", got, want)
		}
	}
}
