package engine

import "github.com/pdiffagent/pdiffagent/wire"

// verifyBlocks is how many complete blocks' copies are checked together:
// a block after a shift is mostly one long copy and a short one, which
// alone would leave three of sha256mb's four lanes idle most of the time.
const verifyBlocks = 4

// pendingBlock is a complete block assembled from pieces, its copies
// (checks) not yet checked.
type pendingBlock struct {
	blk    int64
	buf    []byte
	copied int
	checks []copyCheck
}

// copyCheck is a copy placed in a block at off, and the strong hash the
// sender gave for its n bytes.
type copyCheck struct {
	off, n int
	strong [wire.StrongSize]byte
}

// verify checks the copies of the pending blocks, all together, and hands
// each block whose copies match to the writer (after beforeWrite: it is
// written only now); a block with a copy that does not match is refused,
// and the sender told so. It returns how many blocks it handed over.
// Holding a complete block until then is safe: its bytes were copied
// when its pieces came, and a later piece that copies from its old bytes
// finds them where they were (kept, or in the target, not yet written).
func (rr *recvRoll) verify(bw *blockWriter, st *lockedStream) (int64, error) {
	pend := rr.pend
	rr.pend = rr.pend[:0]
	parts, idx := rr.strong.gather()
	for _, p := range pend {
		for _, c := range p.checks {
			parts = append(parts, p.buf[c.off:c.off+c.n])
		}
	}
	sums := rr.strong.sumGathered(parts, idx)
	var took int64
	k := 0
	for i := range pend {
		p := &pend[i]
		ok := true
		for _, c := range p.checks {
			ok = ok && sums[k] == c.strong
			k++
		}
		if !ok {
			rr.r.tot.collisions.Add(1)
			if err := rr.refuseBlock(st, p.blk, p.buf); err != nil {
				rr.dropPending(pend[i+1:])
				return took, err
			}
			p.buf = nil
			continue
		}
		if err := rr.beforeWrite(p.blk); err != nil {
			rr.dropPending(pend[i:])
			return took, err
		}
		bw.write(p.blk, p.buf)
		p.buf = nil
		rr.took++
		rr.reused += int64(p.copied)
		took++
	}
	clear(pend)
	return took, nil
}

// dropPending gives the buffers of pending blocks not handed over back.
func (rr *recvRoll) dropPending(pend []pendingBlock) {
	for i := range pend {
		putBuf(rr.r.p.BlockSize, pend[i].buf)
		pend[i] = pendingBlock{}
	}
}
