package engine

import (
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/pdiffagent/pdiffagent/engine/cache"
	"github.com/pdiffagent/pdiffagent/engine/sha256mb"
	"github.com/pdiffagent/pdiffagent/sysio"
	"github.com/pdiffagent/pdiffagent/wire"
)

// Sub-block refinement (doc.go has the design). The receiver cuts a block
// whose tier-1 hash differs into sub-blocks of Session.MinBlock bytes and offers
// each with its tier-1 and tier-2 hash in the Refine after the batch's
// Verdict; the sender confirms the sub-blocks whose two hashes equal its
// own and sends the others as SubData.
const (
	// refineSub is the default sub-block size (Session.MinBlock) and the
	// smallest: the smallest block.
	refineSub = wire.MinBlockSize
	// refineStreak refined blocks in a row, in any of the receiver's
	// stripes, that sent most of their sub-blocks make the receiver stop
	// refining: each worker then refines one block in refineProbe of those
	// it needs, and all refine again from the first such probe that sends
	// less than half of its sub-blocks.
	refineStreak = 8
	refineProbe  = 64
)

// refineHeld bounds the refined blocks a recording receiver's stripe holds
// a copy of (about batchBytes): the copy, patched with the block's
// SubData, gives the record its hashes without reading the block back.
// Past the bound a refined block is read back once settled.
func refineHeld(blockSize int) int64 { return int64(batchBlocks(blockSize)) }

// refining reports whether the session refines blocks.
func (p Params) refining() bool {
	return p.Caps.Has(wire.CapRefine) && !p.WholeFile && p.BlockSize > p.MinBlock
}

// subWeak is the tier-1 hash of sub-blocks in a session with caps: the
// blocks' (weakOf), or the test hook Options.testSubWeak. Options.Weak is left to blocks (tests gate on its
// calls, one per block), and so is the read pacing (a block's bytes were
// counted when it was read).
func (o Options) subWeak(caps wire.Caps) WeakFunc {
	if o.testSubWeak != nil {
		return o.testSubWeak
	}
	return weakOf(caps)
}

// refinedBlock is a block the receiver offered in sub-blocks, waiting in
// its stripe's queue for its SubData: the reader settles it when the
// stream moves past it.
type refinedBlock struct {
	block  int64
	n      int                     // the block's length
	strong [][wire.StrongSize]byte // offered, per sub-block
	got    []bool                  // sub-blocks received
	last   int                     // index of the last sub-block received, -1 for none
	buf    []byte                  // recording: the block's bytes, patched by its SubData; nil: read back
}

// refineQueue is a stripe's refined blocks in block order. The hasher
// pushes a batch's before its Verdict goes out (and before decided moves
// past them); the reader pops them.
type refineQueue struct {
	mu sync.Mutex
	q  []*refinedBlock
	// share is the receiver's streak (refined blocks in a row that sent
	// most of their sub-blocks) and, shared by a tree's files, the probe
	// count; else probe is the stripe's own.
	share *refineShare
	probe *atomic.Int64 // needed blocks not refined since the last probe
	// probeFirst: the stripe's first needed block is a probe (a shared
	// streak's stripe of at least refineProbe blocks).
	probeFirst bool
	held       atomic.Int64 // queued blocks holding a copy (buf), at most refineHeld
}

func (rq *refineQueue) push(rbs []*refinedBlock) {
	rq.mu.Lock()
	rq.q = append(rq.q, rbs...)
	rq.mu.Unlock()
}

// popBefore removes and returns the head if its block is below i.
func (rq *refineQueue) popBefore(i int64) *refinedBlock {
	rq.mu.Lock()
	defer rq.mu.Unlock()
	if len(rq.q) == 0 || rq.q[0].block >= i {
		return nil
	}
	h := rq.q[0]
	rq.q[0] = nil
	rq.q = rq.q[1:]
	return h
}

// head returns the head if it is block i.
func (rq *refineQueue) head(i int64) *refinedBlock {
	rq.mu.Lock()
	defer rq.mu.Unlock()
	if len(rq.q) == 0 || rq.q[0].block != i {
		return nil
	}
	return rq.q[0]
}

// settled counts a refined block that the stream has moved past: mostly
// sent, or not.
func (rq *refineQueue) settled(mostlySent bool) {
	if mostlySent {
		rq.share.streak.Add(1)
	} else {
		rq.share.streak.Store(0)
	}
}

// want decides, in the hasher, whether a needed block is refined.
func (rq *refineQueue) want() bool {
	if rq.share.streak.Load() < refineStreak {
		rq.probeFirst = false
		return true
	}
	if rq.probeFirst {
		rq.probeFirst = false
		return true
	}
	if rq.probe.Add(1) >= refineProbe {
		rq.probe.Store(0)
		return true
	}
	return false
}

// passed counts a needed block that the hasher did not read (skipread.go)
// among those between refinement's probes: a skipped stripe's probes read
// one block in up to skipGapMax, and refinement probes one of them once
// refineProbe needed blocks have passed.
func (rq *refineQueue) passed() { rq.probe.Add(1) }

// refineBatch is the Refine the hasher builds beside a batch's Verdict,
// and the blocks it offers, to queue.
type refineBatch struct {
	ref     *wire.Refine
	q       []*refinedBlock
	weak    WeakFunc
	subWeak bool // the peer takes WeakOnly blocks (weakOnly)
}

// want reports whether the hasher refines the needed block it is at (rf
// is nil when the session does not refine).
func (rf *refineBatch) want(ss *stripeState) bool {
	return rf != nil && ss.refine.want()
}

// refineNeeded offers needed block blk, whose bytes are b, in sub-blocks.
// In a dry run nothing is queued (no SubData follows): it counts as refined.
func (r *receiver) refineNeeded(ss *stripeState, rf *refineBatch, blk int64, b []byte, jobs *subJobs) error {
	rb, err := r.offerSubs(rf.ref, blk, b, jobs, rf.weak)
	if rb != nil && r.p.DryRun {
		r.tot.refined.Add(1)
	} else if rb != nil {
		if err == nil && r.cache.recording() && ss.refine.held.Load() < refineHeld(r.p.BlockSize) {
			rb.buf = getBuf(r.p.BlockSize, len(b))
			if err = sysio.Guard(func() { copy(rb.buf, b) }); err != nil { // b may be mapped
				return guardErr(err, r.dst, errTargetChanged)
			}
			ss.refine.held.Add(1)
		}
		rf.q = append(rf.q, rb)
	}
	return err
}

// dropHeld releases a refined block's copy, if it holds one.
func (rq *refineQueue) dropHeld(rb *refinedBlock, blockSize int) {
	if rb.buf != nil {
		putBuf(blockSize, rb.buf)
		rb.buf = nil
		rq.held.Add(-1)
	}
}

// offerSubs adds block blk, whose bytes are b (possibly mapped), to ref in
// sub-blocks, unless the Refine is full. It returns the block to queue, or
// nil. The sub-blocks' tier-2 hashes are left to jobs: b must hold until
// they are computed.
func (r *receiver) offerSubs(ref *wire.Refine, blk int64, b []byte, jobs *subJobs, weak WeakFunc) (*refinedBlock, error) {
	sub := r.p.MinBlock
	subs := (len(b) + sub - 1) / sub
	have := 0
	for k := range ref.Blocks {
		have += len(ref.Blocks[k].Weak)
	}
	if subs < 2 || have+subs > wire.MaxSubBlocks {
		return nil, nil
	}
	rb := wire.RefineBlock{Index: uint32(blk - int64(ref.First)), Weak: make([]uint64, subs), Strong: make([][wire.StrongSize]byte, subs)}
	err := sysio.Guard(func() {
		for j := range subs {
			rb.Weak[j] = weak(b[j*sub : min((j+1)*sub, len(b))])
		}
	})
	if err != nil {
		return nil, guardErr(err, r.dst, errTargetChanged)
	}
	for j := range subs {
		jobs.parts = append(jobs.parts, b[j*sub:min((j+1)*sub, len(b))])
		jobs.dsts = append(jobs.dsts, &rb.Strong[j])
	}
	ref.Blocks = append(ref.Blocks, rb)
	return &refinedBlock{block: blk, n: len(b), strong: rb.Strong, got: make([]bool, subs), last: -1}, nil
}

// settleBefore settles every refined block below i: each sub-block not
// received was confirmed by the sender, and enters the digest with the
// strong hash offered for it. Each settled block counts as received.
func (r *receiver) settleBefore(ss *stripeState, bw *blockWriter, i int64) {
	for rb := ss.refine.popBefore(i); rb != nil; rb = ss.refine.popBefore(i) {
		sent := 0
		for j, got := range rb.got {
			if got {
				sent++
			} else {
				ss.settled.addSubOffered(rb.block, j*r.p.MinBlock, rb.strong[j])
			}
		}
		ss.refine.settled(2*sent > len(rb.got))
		r.tot.refined.Add(1)
		r.recordRefined(ss, bw, rb)
		ss.settledN++
	}
}

// takeData settles the refined and offered blocks before block i, which
// a Data (or the search's first piece of it) names, forgets i if it was
// offered (a weak collision), and takes i off the queue when it is
// refined: the sender sends it whole, which it may do only before any of
// its sub-blocks, when no sub-block matched (for the streak, a block that
// sent them all; for Stats, not a refined block) or for a hole of its
// source.
func (r *receiver) takeData(ss *stripeState, bw *blockWriter, i int64) error {
	r.settleBefore(ss, bw, i)
	r.settleOffered(ss, i, true)
	rb := ss.refine.head(i)
	if rb == nil {
		return nil
	}
	if rb.last >= 0 {
		return protocolErrorf("Data for block %d after some of its sub-blocks", i)
	}
	ss.refine.popBefore(i + 1)
	ss.refine.settled(true)
	ss.refine.dropHeld(rb, r.p.BlockSize)
	return nil
}

// writeSub checks a SubData against the stripe's refined blocks and hands
// it to the writer.
func (r *receiver) writeSub(ss *stripeState, bw *blockWriter, d *wire.SubData) error {
	i := int64(d.Block)
	if r.p.DryRun || i < ss.first || i >= ss.decided.Load() || i < ss.received {
		return protocolErrorf("SubData for block %d outside the undecided part of stripe [%d,%d), or after its Data", i, ss.first, ss.end)
	}
	r.settleBefore(ss, bw, i)
	r.settleOffered(ss, i, false)
	rb := ss.refine.head(i)
	if rb == nil {
		return protocolErrorf("SubData for block %d, which is not refined (or again)", i)
	}
	sub := r.p.MinBlock
	j, n := int(d.Offset)/sub, int(d.RawLen)
	if int(d.Offset)%sub != 0 || j >= len(rb.got) || j <= rb.last {
		return protocolErrorf("SubData for block %d at offset %d: not a sub-block after the last one sent", i, d.Offset)
	}
	// A run of whole sub-blocks, the last of which may end the block.
	if end := int(d.Offset) + n; n == 0 || end > rb.n || (n%sub != 0 && end != rb.n) {
		return protocolErrorf("SubData for block %d at offset %d holds %d bytes: not a run of its %d-byte sub-blocks", i, d.Offset, n, sub)
	}
	first := rb.last < 0
	for k := j; k*sub < int(d.Offset)+n; k++ {
		rb.got[k], rb.last = true, k
	}
	var buf []byte // nil: zeros
	if d.Codec != wire.CodecZero {
		var err error
		if buf, err = r.unpack(d.Type(), i, int(d.Offset), d.Codec, d.Payload, n); err != nil {
			return err
		}
	}
	if rb.buf != nil { // the held copy becomes what the target will hold
		if part := rb.buf[d.Offset : int(d.Offset)+n]; buf == nil {
			clear(part)
		} else {
			copy(part, buf)
		}
	}
	r.tot.sentBytes.Add(int64(len(d.Payload)))
	r.tot.subs.Add(int64(rb.last + 1 - j))
	if first {
		// Served in place, not in pieces: for the search's keeping of old
		// blocks the whole block came as it was (doc.go, "In place,
		// safely"); counting only the bytes sent kept a copy of every
		// needed block of a database-page sync (0.64 GiB at 1000 pages).
		ss.roll.cameWhole(rb.n)
	}
	if err := ss.roll.beforeWrite(i); err != nil {
		releaseBuf(r.p.BlockSize, buf)
		return err
	}
	bw.q <- pendingWrite{block: i, off: int(d.Offset), buf: buf, n: n, sub: true}
	return nil
}

// recordRefined queues a settled refined block for the cache's record:
// when recording, the writer records its hashes once its sub-blocks are
// written, from the copy the block holds (which the writer then owns) or
// else read back.
func (r *receiver) recordRefined(ss *stripeState, bw *blockWriter, rb *refinedBlock) {
	if bw == nil || !bw.rec {
		ss.refine.dropHeld(rb, r.p.BlockSize)
		return
	}
	buf := rb.buf
	if buf != nil {
		rb.buf = nil
		ss.refine.held.Add(-1)
	}
	bw.q <- pendingWrite{block: rb.block, n: rb.n, buf: buf, record: true}
}

// putSub writes a received run of sub-blocks (zeros when buf is nil) and
// adds each to the stripe's digest.
func (bw *blockWriter) putSub(pw pendingWrite) error {
	r := bw.r
	off := pw.block*int64(r.p.BlockSize) + int64(pw.off)
	b := pw.buf
	if b == nil {
		r.zerosOnce.Do(func() { r.zeros = sysio.AlignedBuffer(r.p.BlockSize) })
		b = r.zeros[:pw.n]
	}
	weak := r.opt.subWeak(r.p.Caps)
	for k, sub := 0, r.p.MinBlock; k < pw.n; k += sub {
		bw.ss.written.addSubSent(pw.block, pw.off+k, weak(b[k:min(k+sub, pw.n)]))
	}
	if pw.buf == nil {
		if err := r.writeZeroAt(off, pw.n); err != nil {
			r.cache.writeFailed()
			return err
		}
		return nil
	}
	if err := r.writeBuffered(pw.buf, off); err != nil {
		return err
	}
	bw.wroteBuffered(off, len(pw.buf))
	return nil
}

// writeBuffered writes the sub-blocks b at off through the page cache:
// small O_DIRECT writes cost several times the CPU
// (sysio.File.WriteAtBuffered); the commit's fsync writes them.
func (r *receiver) writeBuffered(b []byte, off int64) error {
	if err := r.cache.beforeWrite(); err != nil {
		return err
	}
	if _, err := r.dst.WriteAtBuffered(b, off); err != nil {
		r.cache.writeFailed()
		return fmt.Errorf("write %s: %w", r.dst.Name(), err)
	}
	r.countWritten(len(b))
	return nil
}

// writebackEvery is how many bytes of sub-blocks a writer writes through
// the page cache before it starts their writeback.
const writebackEvery = 256 << 10

// wroteBuffered notes n bytes written through the page cache at off and,
// every writebackEvery bytes, starts writing back the span written since
// the last time, without waiting: the commit's fsync then waits for I/O
// already under way instead of starting all of it (at 1000 pages in 1
// GiB, 8 MB in 2,000 scattered 4 KiB pages: an fsync of 47 ms at the
// end of the sync, which nothing overlapped).
func (bw *blockWriter) wroteBuffered(off int64, n int) {
	if bw.dirtyN == 0 || off < bw.dirtyLo {
		bw.dirtyLo = off
	}
	bw.dirtyHi = max(bw.dirtyHi, off+int64(n))
	if bw.dirtyN += int64(n); bw.dirtyN >= writebackEvery {
		bw.r.dst.StartWriteback(bw.dirtyLo, bw.dirtyHi-bw.dirtyLo)
		bw.dirtyN, bw.dirtyHi = 0, 0
	}
}

// putRefined records the hashes of a settled refined block, from its
// patched copy or, without one, read back. The tier-2 hash waits in recs
// (which takes the buffer) for up to hashLanes blocks, hashed together
// when recs is full or the stripe ends (recordRefined). Hashed as soon as
// the writer would wait instead, they went one at a time at the pace the
// blocks came (in the tree bench, the server's record hashes ran in one
// lane of the SHA unit: 3.2% of its CPU, twice what lanes cost).
func (bw *blockWriter) putRefined(pw pendingWrite) error {
	r := bw.r
	if pw.buf == nil {
		pw.buf = getBuf(r.p.BlockSize, pw.n)
		if _, err := r.dst.ReadAt(pw.buf, pw.block*int64(r.p.BlockSize)); err != nil {
			putBuf(r.p.BlockSize, pw.buf)
			r.cache.writeFailed()
			return fmt.Errorf("read back %s: %w", r.dst.Name(), err)
		}
	}
	if bw.recs = append(bw.recs, pw); len(bw.recs) >= hashLanes(r.p.BlockSize) {
		bw.recordRefined()
	}
	return nil
}

// recordRefined hashes the refined blocks in recs together and records
// them.
func (bw *blockWriter) recordRefined() {
	if len(bw.recs) == 0 {
		return
	}
	var bufs [sha256mb.Lanes][]byte
	var sums [sha256mb.Lanes][wire.StrongSize]byte
	for i, pw := range bw.recs {
		bufs[i] = pw.buf
	}
	n := len(bw.recs)
	bw.strong.sums(sums[:n], bufs[:n])
	for i, pw := range bw.recs {
		bw.r.cache.put(pw.block, []cache.Entry{{Weak: bw.r.weak(pw.buf), Strong: sums[i]}})
	}
	bw.dropRecs()
}

// dropRecs releases the buffers of recs.
func (bw *blockWriter) dropRecs() {
	for i := range bw.recs {
		releaseBuf(bw.r.p.BlockSize, bw.recs[i].buf)
		bw.recs[i] = pendingWrite{}
	}
	bw.recs = bw.recs[:0]
}
