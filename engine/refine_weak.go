package engine

import (
	"github.com/pdiffagent/pdiffagent/sysio"
	"github.com/pdiffagent/pdiffagent/wire"
)

// Sub-block sums by tier-1 hash alone (wire.CapSubWeak), which a receiver
// offers for the sender's sub-block recovery (rolling_subs.go) where it
// does not refine.

// weakOnly reports whether the hasher offers a needed block it does not
// refine in sub-blocks by their tier-1 hashes alone (wire.CapSubWeak),
// for the sender's sub-block recovery (rolling_subs.go): while the search
// keeps old bytes (pieces came lately). Refinement stops after eight
// blocks that came mostly sent, and every block of moved data comes so:
// after 100 insertions of 100 bytes into 1 GiB, an insertion hid a 1 MiB
// block from the search (92 MiB sent). Refined in full, every shifted
// block cost 40 bytes a sub-block on the wire (10.6 MB) and the receiver
// a strong hash of all of them (one insertion into 1 GiB took 1.40 s
// against 1.09, 4 interleaved); tier-1 hashes alone cost 8 bytes a
// sub-block and little CPU.
func (rf *refineBatch) weakOnly(ss *stripeState) bool {
	return rf != nil && rf.subWeak && ss.roll.keeping()
}

// offerWeak offers needed block blk, whose bytes are b (possibly mapped),
// in sub-blocks by their tier-1 hashes alone: nothing is queued, since
// the sender sends such a block whole or in pieces.
func (r *receiver) offerWeak(rf *refineBatch, blk int64, b []byte) error {
	sub := r.p.MinBlock
	subs := (len(b) + sub - 1) / sub
	have := 0
	for k := range rf.ref.Blocks {
		have += len(rf.ref.Blocks[k].Weak)
	}
	if subs < 2 || have+subs > wire.MaxSubBlocks {
		return nil
	}
	rb := wire.RefineBlock{Index: uint32(blk - int64(rf.ref.First)), WeakOnly: true, Weak: make([]uint64, subs)}
	err := sysio.Guard(func() {
		for j := range subs {
			rb.Weak[j] = rf.weak(b[j*sub : min((j+1)*sub, len(b))])
		}
	})
	if err != nil {
		return guardErr(err, r.dst, errTargetChanged)
	}
	rf.ref.Blocks = append(rf.ref.Blocks, rb)
	return nil
}
