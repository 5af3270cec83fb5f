package engine

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"sync/atomic"
	"testing"

	"github.com/pdiffagent/pdiffagent/wire"
)

// TestUnasked: a replaced file goes mostly unasked once unaskedStreak
// blocks in a row were sent whole, one batch in unaskedAsk still asked;
// the result is exact, and a peer without CapUnasked gets every batch
// asked.
func TestUnasked(t *testing.T) {
	const bs = 64 << 10
	src := randBytes(91, 48*mib)
	old := randBytes(92, len(src))
	blocks := int64(len(src) / bs)
	for _, workers := range []int{1, 2} {
		t.Run(fmt.Sprint(workers), func(t *testing.T) {
			checkNoLeak(t)
			p := Params{Session: Session{BlockSize: bs, Workers: workers}}
			var unasked atomic.Int64
			s, d := writeCase(t, syncCase{src: src, dst: old})
			sst, rst := syncCaps(t, s, d, p, Options{testUnasked: &unasked}, wire.AgentCaps)
			wantSynced(t, d, src, sst, rst)
			var asked atomic.Int64
			s2, d2 := writeCase(t, syncCase{src: src, dst: old})
			ast, art := syncCaps(t, s2, d2, p, Options{testUnasked: &asked}, wire.AgentCaps&^wire.CapUnasked)
			wantSynced(t, d2, src, ast, art)
			t.Logf("unasked %d of %d blocks; target read %d (every batch asked: %d, unasked %d)", unasked.Load(), blocks, rst.TargetRead, art.TargetRead, asked.Load())
			// After the streak (per worker, plus the reader's lead), three
			// batches in four.
			lead := int64(workers) * (unaskedStreak + int64(paceMax+1)*int64(batchBlocks(bs)))
			if want := (blocks - lead) * (unaskedAsk - 1) / unaskedAsk * 9 / 10; unasked.Load() < want {
				t.Errorf("%d blocks sent unasked, want at least %d", unasked.Load(), want)
			}
			if asked.Load() != 0 || rst.BlocksChanged != blocks || art.BlocksChanged != blocks {
				t.Errorf("without the capability %d unasked; %d and %d changed", asked.Load(), rst.BlocksChanged, art.BlocksChanged)
			}
		})
	}
}

// TestUnaskedEnds: where a replaced region gives way to unchanged blocks,
// the first asked batch there confirms some (the receiver's first read
// after an unasked batch is a probe) and ends the run: the unchanged
// blocks sent anyway are at most the batches announced meanwhile (the
// asked batch's unasked neighbours and the reader's lead) and a skipping
// gap. Pages changed after a replaced region are refined again as soon.
func TestUnaskedEnds(t *testing.T) {
	const bs = 256 << 10 // 16 blocks a batch
	per := int64(batchBlocks(bs))
	waste := (unaskedAsk-1+int64(paceMax)+1)*per + skipGapMax
	for _, c := range []struct {
		name  string
		paged bool
	}{{"unchanged", false}, {"paged", true}} {
		t.Run(c.name, func(t *testing.T) {
			checkNoLeak(t)
			const replaced, blocks = 192, 512
			src := randBytes(93, blocks*bs)
			old := append(randBytes(94, replaced*bs), src[replaced*bs:]...)
			if c.paged {
				for b := replaced; b < blocks; b++ {
					copy(old[b*bs+(b%16)*refineSub:], randBytes(uint64(b), refineSub))
				}
			}
			var unasked atomic.Int64
			s, d := writeCase(t, syncCase{src: src, dst: old})
			p := Params{Session: Session{BlockSize: bs, Workers: 1}}
			st, err := SyncLocal(context.Background(), s, d, p, Options{testUnasked: &unasked})
			if err != nil {
				t.Fatal(err)
			}
			if got, _ := os.ReadFile(d); !bytes.Equal(got, src) {
				t.Fatal("target differs from the source")
			}
			t.Logf("%d blocks changed, %d confirmed, %d refined, %d unasked (bound: %d of the %d after the replaced ones sent whole)",
				st.BlocksChanged, st.BlocksConfirmed, st.BlocksRefined, unasked.Load(), waste, blocks-replaced)
			if unasked.Load() == 0 {
				t.Error("nothing went unasked")
			}
			whole := st.BlocksChanged - st.BlocksRefined // sent whole
			if c.paged {
				// Refinement probes one needed block in refineProbe.
				if whole > replaced+waste+refineProbe {
					t.Errorf("%d blocks sent whole, want at most %d", whole, replaced+waste+refineProbe)
				}
			} else if whole > replaced+waste {
				t.Errorf("%d blocks sent whole, want at most %d", whole, replaced+waste)
			}
		})
	}
}
