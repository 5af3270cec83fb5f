package engine

import (
	"bytes"
	"context"
	"os"
	"testing"
)

// TestUnreadNeeds: once refinement and the search have backed off and a
// stripe's blocks keep differing, the receiver calls them needed without
// reading them, probing now and then; a probe that matches ends the
// skipping, so an unchanged region after a replaced one is confirmed,
// not sent, apart from at most a gap of blocks. A dry run reads every
// block.
func TestUnreadNeeds(t *testing.T) {
	checkNoLeak(t)
	// 64 MiB: refinement and the search give up after 8 MiB of whole
	// blocks, which the receiver sees up to a window behind its hasher
	// (18-24 MiB read before the skipping starts, measured).
	const bs, blocks = 64 << 10, 1024
	src := randBytes(81, blocks*bs)
	for _, c := range []struct {
		name     string
		replaced int // leading blocks replaced; the rest is unchanged
		dryRun   bool
	}{{"all replaced", blocks, false}, {"half replaced", blocks / 2, false}, {"dry run", blocks, true}} {
		t.Run(c.name, func(t *testing.T) {
			old := append(randBytes(82, c.replaced*bs), src[c.replaced*bs:]...)
			s, d := writeCase(t, syncCase{src: src, dst: old})
			p := Params{Session: Session{BlockSize: bs, Workers: 1, DryRun: c.dryRun}}
			// Every batch asked: unasked ones (unasked_test.go) would send
			// the replaced region without the receiver's part.
			st, err := SyncLocal(context.Background(), s, d, p, Options{testAsk: true})
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("target read %d of %d bytes; %d blocks changed, %d confirmed", st.TargetRead, len(src), st.BlocksChanged, st.BlocksConfirmed)
			if c.dryRun {
				if st.TargetRead != int64(len(src)) || st.BlocksChanged != int64(c.replaced) {
					t.Errorf("dry run read %d bytes and counted %d changed, want %d and %d", st.TargetRead, st.BlocksChanged, len(src), c.replaced)
				}
				return
			}
			if got, _ := os.ReadFile(d); !bytes.Equal(got, src) {
				t.Fatal("target differs from the source")
			}
			// At most the window's lag plus a probe per gap: 3/4 (all of
			// it without the skipping).
			if c.replaced == blocks && st.TargetRead > int64(len(src))*3/4 {
				t.Errorf("the receiver read %d of %d bytes of a fully replaced target, want at most 3/4", st.TargetRead, len(src))
			}
			if c.replaced < blocks {
				kept := int64(blocks - c.replaced)
				if st.BlocksConfirmed < kept-skipGapMax || st.BlocksChanged > int64(c.replaced)+skipGapMax {
					t.Errorf("%d confirmed and %d changed, want at least %d confirmed (the unchanged half less a gap)",
						st.BlocksConfirmed, st.BlocksChanged, kept-skipGapMax)
				}
			}
		})
	}
}

// TestRefineAfterUnread: while the receiver skips reading a replaced
// region, the skipped blocks count toward refinement's next probe (one
// needed block in refineProbe), so where the blocks turn into ones with a
// single changed page, refinement resumes within a probe's distance and
// the hasher's lead, and sends those blocks' changed sub-blocks only.
// 1859-1922 blocks refined (measured); counting only the blocks read,
// 1537-1665, which the bound, allowing the hasher's whole lead, does not
// always tell apart.
func TestRefineAfterUnread(t *testing.T) {
	checkNoLeak(t)
	const bs, blocks, replaced = 64 << 10, 3072, 1024
	src := randBytes(83, blocks*bs)
	old := append(randBytes(84, replaced*bs), src[replaced*bs:]...)
	for b := replaced; b < blocks; b++ { // one changed 4 KiB page per block
		copy(old[b*bs+(b%16)*refineSub:], randBytes(uint64(b), refineSub))
	}
	s, d := writeCase(t, syncCase{src: src, dst: old})
	p := Params{Session: Session{BlockSize: bs, Workers: 1}}
	st, err := SyncLocal(context.Background(), s, d, p, Options{testAsk: true}) // every batch asked, as above
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(d); !bytes.Equal(got, src) {
		t.Fatal("target differs from the source")
	}
	t.Logf("target read %d; %d blocks changed, %d refined, %d sub-blocks sent", st.TargetRead, st.BlocksChanged, st.BlocksRefined, st.SubBlocksSent)
	if st.TargetRead > int64(len(src))*7/8 {
		t.Errorf("read %d bytes of the target, want the replaced third mostly skipped", st.TargetRead)
	}
	// The paged blocks but for a probe's distance and the hasher's lead
	// (windowBatches+2 batches), and of the replaced ones the streak and
	// one block in refineProbe.
	lag := int64(refineProbe + skipGapMax + (windowBatches+2)*batchBlocks(bs))
	lo, hi := int64(blocks-replaced)-lag, int64(blocks-replaced+refineStreak+replaced/refineProbe+2)
	if st.BlocksRefined < lo || st.BlocksRefined > hi || st.SubBlocksSent != st.BlocksRefined {
		t.Errorf("%d blocks refined, %d sub-blocks sent, want %d to %d refined, one sub-block each", st.BlocksRefined, st.SubBlocksSent, lo, hi)
	}
}
