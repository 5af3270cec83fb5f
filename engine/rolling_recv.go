package engine

import (
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/pdiffagent/pdiffagent/wire"
)

// recvRoll is a receiver worker's side of the search for its stripe
// (doc.go, "Rolling search"). The hasher offers the blocks it reads
// (offer, sums) and keeps the old bytes of the needed ones; the reader
// assembles blocks sent in pieces (piece) from those and from literals.
type recvRoll struct {
	r      *receiver
	ro     *roller
	back   int64 // blocks kept behind the hasher's batch
	strong *strongHasher

	// mu guards src, which the hasher fills and evicts and the reader
	// copies from. A block offered and needed maps to its old bytes (a
	// pooled buffer); a block offered and not needed to nil: it is read
	// from the target, which writes never touch there.
	mu    sync.Mutex
	src   map[int64]keptBlock
	order []int64 // src's blocks, in order
	held  int     // blocks of src with their old bytes in a buffer
	// sendMu makes a batch's Verdict, Refine and RollSums one run on the
	// stream, so that the reader's Refused never falls between them.
	sendMu sync.Mutex
	sums   *wire.RollSums // the hasher's batch being built

	// The reader's: the block being assembled from pieces.
	cur    int64
	have   int         // bytes of cur assembled
	buf    []byte      // cur's bytes; nil when refused
	copied int         // bytes of cur copied
	checks []copyCheck // cur's copies, their strong hashes not yet checked
	// pend are complete blocks whose copies wait to be checked together
	// (verify), at most verifyBlocks of them.
	pend    []pendingBlock
	refused map[int64]bool
	// active: the old bytes of needed sources are kept (the hasher's
	// copy, or the reader's read before it overwrites a lazy one). The
	// reader turns it off after rollStreak bytes of needed blocks in a
	// row came whole (Data, SubData), and on again at the next piece.
	active atomic.Bool
	whole  *atomic.Int64 // bytes of needed blocks in a row that came whole: the session's stripes', or Options.Recv's
	ended  bool          // the sender's RollEnd came
	out    *refusals     // the reader's Refused and then its RollEnd; nil until a refusal
	pieced int64         // blocks begun in pieces
	took   int64         // blocks assembled and written
	reused int64         // bytes copied for them
}

// keptBlock is a source block of n bytes. A block offered and not needed
// has no buf: it is read from the target, which writes never touch there.
// A needed block offered while the search is active is copied into buf; one
// offered while it is not is lazy: its old bytes are the target's until
// the reader is about to overwrite it (beforeWrite), and then kept if the
// search is active again, or gone: a copy from it is refused.
type keptBlock struct {
	buf  []byte
	n    int
	lazy bool
	gone bool
}

// newRecvRoll returns the search state of a stripe, or nil when the
// session does not search.
func (r *receiver) newRecvRoll() (*recvRoll, error) {
	if !r.p.rolling() || r.dst == nil {
		return nil, nil
	}
	strong, err := newStrongHasher(r.p.Strong)
	if err != nil {
		return nil, err
	}
	ro := newRoller(rollWindow(r.p.BlockSize))
	ro.collide = r.opt.testRollCollide
	per := int64(batchBlocks(r.p.BlockSize))
	rr := &recvRoll{r: r, ro: ro, strong: strong, back: (windowBatches + 1 + rollBackBatches) * per,
		src: map[int64]keptBlock{}, cur: -1, refused: map[int64]bool{}, whole: &r.share.whole}
	rr.active.Store(rr.whole.Load() < rollStreak)
	return rr, nil
}

// begin starts the RollSums of a batch and evicts the sources the sender
// can no longer name: the sender decides a batch at most windowBatches
// behind the one the hasher is at, and names sources at most
// rollBackBatches behind the block it decides.
func (rr *recvRoll) begin(wb *wire.WeakBatch) {
	if rr == nil {
		return
	}
	n := len(wb.Hashes)
	rr.sums = &wire.RollSums{First: wb.First, Count: uint32(n), Offer: make([]bool, n)}
	rr.evictBefore(int64(wb.First))
}

// evictBefore drops the kept blocks more than back blocks before the
// batch at first (an asked one, begin, or an unasked one).
func (rr *recvRoll) evictBefore(first int64) {
	if rr == nil {
		return
	}
	lo := first - rr.back
	rr.mu.Lock()
	k := 0
	for ; k < len(rr.order) && rr.order[k] < lo; k++ {
		rr.drop(rr.src[rr.order[k]])
		delete(rr.src, rr.order[k])
	}
	rr.order = append(rr.order[:0], rr.order[k:]...)
	rr.mu.Unlock()
}

// keeping reports whether the search keeps the old bytes of needed
// blocks now (active): a receiver whose record spares it a needed block's
// read reads it for the search only then.
func (rr *recvRoll) keeping() bool { return rr != nil && rr.active.Load() }

// offerTail offers the target's old last block, shorter than the
// sender's block blk at off: hashBatch needs it without reading it.
func (rr *recvRoll) offerTail(blk, off int64, buf []byte) error {
	if rr == nil || off >= rr.r.oldSize {
		return nil
	}
	r := rr.r
	b := buf[:r.oldSize-off]
	if _, err := r.dst.ReadAt(b, off); err != nil {
		return fmt.Errorf("read %s: %w", r.dst.Name(), err)
	}
	rr.offer(blk, b, r.weak(b), true)
	return nil
}

// offer makes block blk, whose old bytes are b (possibly mapped: the
// caller guards) and tier-1 hash weak, a source. If it is needed (it will
// be overwritten), it keeps a copy of its bytes while the search is
// active, and otherwise leaves it lazy (beforeWrite). A block shorter than
// the anchor, or whose anchor is all zeros, is not offered.
func (rr *recvRoll) offer(blk int64, b []byte, weak uint64, needed bool) {
	if rr == nil || len(b) < rr.ro.w {
		return
	}
	raw := rr.ro.sumRaw(b)
	if raw == rr.ro.zero && isZero(b[:rr.ro.w]) {
		return
	}
	if rr.r.opt.testSearchWeak != nil {
		weak = rr.r.opt.testSearchWeak(b)
	}
	k := keptBlock{n: len(b)}
	rr.mu.Lock()
	eager := needed && rr.active.Load() && rr.held < rollKeepEager(rr.r.p.BlockSize)
	if eager {
		rr.held++
		rr.noteHeld()
	}
	rr.mu.Unlock()
	if eager {
		k.buf = getBuf(rr.r.p.BlockSize, len(b))
		copy(k.buf, b)
		rr.countKept()
	} else {
		k.lazy = needed
	}
	rr.mu.Lock()
	if old, ok := rr.src[blk]; ok { // offered again: cannot happen, but keep the map exact
		rr.drop(old)
	} else {
		rr.order = append(rr.order, blk)
	}
	rr.src[blk] = k
	rr.mu.Unlock()
	i := blk - int64(rr.sums.First)
	rr.sums.Offer[i] = true
	rr.sums.Anchor = append(rr.sums.Anchor, rr.ro.hook(raw))
	rr.sums.Weak = append(rr.sums.Weak, weak)
	rr.sums.N = append(rr.sums.N, uint32(len(b)))
}

// piece takes one CopyFrom or Literal of a block sent in pieces. It
// returns how many blocks it took (checked and handed to the writer).
func (rr *recvRoll) piece(ss *stripeState, bw *blockWriter, st *lockedStream, m wire.Message) (int64, error) {
	if rr == nil {
		return 0, protocolErrorf("%T in a session without the search", m)
	}
	var blk int64
	var off, n int
	switch m := m.(type) {
	case *wire.CopyFrom:
		blk, off, n = int64(m.Block), int(m.Offset), int(m.N)
	case *wire.Literal:
		blk, off, n = int64(m.Block), int(m.Offset), len(m.Bytes)
	}
	r := rr.r
	if rr.cur >= 0 { // within a block
		if blk != rr.cur || off != rr.have {
			return 0, protocolErrorf("%T for block %d at %d, want block %d at %d", m, blk, off, rr.cur, rr.have)
		}
	} else {
		if off != 0 || blk < ss.first || blk >= ss.decided.Load() || blk < ss.received {
			return 0, protocolErrorf("%T for block %d at %d: not the start of a decided block after block %d", m, blk, off, ss.received-1)
		}
		if err := r.takeData(ss, bw, blk); err != nil {
			return 0, err
		}
		ss.received = blk + 1
		rr.active.Store(true)
		rr.whole.Store(0)
		rr.cur, rr.have, rr.copied = blk, 0, 0
		rr.buf = getBuf(r.p.BlockSize, r.p.BlockLen(blk))
		rr.pieced++
	}
	if off+n > len(rr.buf) && rr.buf != nil || off+n > r.p.BlockLen(blk) {
		return 0, protocolErrorf("%T for block %d: %d+%d past its %d bytes", m, blk, off, n, r.p.BlockLen(blk))
	}
	switch m := m.(type) {
	case *wire.CopyFrom:
		if err := rr.copyFrom(m, st); err != nil {
			return 0, err
		}
	case *wire.Literal:
		if rr.buf != nil {
			copy(rr.buf[off:], m.Bytes)
		}
		r.tot.sentBytes.Add(int64(n))
	}
	rr.have += n
	if rr.have < r.p.BlockLen(blk) {
		return 0, nil
	}
	rr.cur = -1
	checks := rr.checks
	rr.checks = nil
	if rr.buf == nil { // refused
		return 0, nil
	}
	rr.pend = append(rr.pend, pendingBlock{blk: blk, buf: rr.buf, copied: rr.copied, checks: checks})
	rr.buf = nil
	if len(rr.pend) < verifyBlocks {
		return 0, nil
	}
	return rr.verify(bw, st)
}

// copyFrom copies a CopyFrom's source into the block being assembled; its
// strong hash is checked once the block and a few others are complete
// (verify).
func (rr *recvRoll) copyFrom(c *wire.CopyFrom, st *lockedStream) error {
	r := rr.r
	if rr.buf == nil {
		return nil // refused already: the rest of its pieces are skipped
	}
	bs := int64(r.p.BlockSize)
	j := int64(c.Src) / bs
	at := int64(c.Src) - j*bs
	n := int64(c.N)
	dst := rr.buf[c.Offset : int64(c.Offset)+n]
	rr.mu.Lock()
	old, ok := rr.src[j]
	ok = ok && at+n <= int64(old.n)
	if ok && old.buf != nil {
		copy(dst, old.buf[at:at+n])
	}
	rr.mu.Unlock()
	switch {
	case !ok:
		return protocolErrorf("CopyFrom for block %d from %d+%d: not within a source block offered and kept", rr.cur, c.Src, c.N)
	case old.gone: // overwritten while the search found nothing: refused, not a collision
		return rr.refuse(st)
	case old.buf == nil: // not needed, or not yet overwritten (only the reader queues writes)
		if _, err := r.dst.ReadAt(dst, int64(c.Src)); err != nil {
			return fmt.Errorf("read %s: %w", r.dst.Name(), err)
		}
	}
	rr.copied += int(n)
	rr.checks = append(rr.checks, copyCheck{off: int(c.Offset), n: int(n), strong: c.Strong})
	return nil
}

// refuse drops the block being assembled and tells the sender, which
// sends it again whole (and searches no more in the stripe).
func (rr *recvRoll) refuse(st *lockedStream) error {
	buf := rr.buf
	rr.buf = nil
	return rr.refuseBlock(st, rr.cur, buf)
}

// refuseBlock refuses block blk, whose assembled bytes buf it drops.
func (rr *recvRoll) refuseBlock(st *lockedStream, blk int64, buf []byte) error {
	putBuf(rr.r.p.BlockSize, buf)
	rr.refused[blk] = true
	if rr.out == nil {
		rr.out = startRefusals(rr, st)
	}
	return rr.out.push(&wire.Refused{Block: uint64(blk)})
}

// beforeWrite runs in the reader just before it queues the first write
// to block blk (only the reader queues writes, each after the block's
// verdict, so offer came first and the target still holds the old bytes):
// a lazy source (offered while the search was inactive) is read and kept
// if a piece made the search active again since, and is gone otherwise.
// With 100% of the blocks replaced the search soon finds nothing, so the
// receiver stops copying and holding old blocks (it copied every needed
// block and held up to 24 MiB of them per worker).
func (rr *recvRoll) beforeWrite(blk int64) error {
	if rr == nil {
		return nil
	}
	rr.mu.Lock()
	defer rr.mu.Unlock()
	k, ok := rr.src[blk]
	if !ok || !k.lazy {
		return nil
	}
	k.lazy = false
	if !rr.active.Load() {
		k.gone = true
		rr.src[blk] = k
		return nil
	}
	r := rr.r
	buf := getBuf(r.p.BlockSize, k.n)
	if _, err := r.dst.ReadAt(buf, blk*int64(r.p.BlockSize)); err != nil {
		putBuf(r.p.BlockSize, buf)
		return fmt.Errorf("read %s: %w", r.dst.Name(), err)
	}
	k.buf = buf
	rr.src[blk] = k
	rr.held++
	rr.noteHeld()
	rr.countKept()
	return nil
}

// noteHeld raises Options.testRollHeld to held (rr.mu held).
func (rr *recvRoll) noteHeld() {
	if m := rr.r.opt.testRollHeld; m != nil && int64(rr.held) > m.Load() {
		m.Store(int64(rr.held))
	}
}

// drop frees k's copy of its old bytes, if it has one (rr.mu held).
func (rr *recvRoll) drop(k keptBlock) {
	if k.buf != nil {
		putBuf(rr.r.p.BlockSize, k.buf)
		rr.held--
	}
}

func (rr *recvRoll) countKept() {
	if c := rr.r.opt.testRollKept; c != nil {
		c.Add(1)
	}
}

// cameWhole counts a needed block of n bytes that came whole (Data or
// SubData, not pieces): after rollStreak bytes in a row the reader stops
// keeping old blocks, as the sender stops searching every block.
func (rr *recvRoll) cameWhole(n int) {
	if rr == nil {
		return
	}
	if rr.whole.Add(int64(n)) >= rollStreak {
		rr.active.Store(false)
	}
}

// takeRefused reports whether a Data for block i is the sender's answer to
// a refusal (it then comes out of order), and takes it off the list.
func (rr *recvRoll) takeRefused(i int64) bool {
	if rr == nil || !rr.refused[i] {
		return false
	}
	delete(rr.refused, i)
	return true
}

// end answers the sender's RollEnd, which follows all of the stripe's
// pieces, once the pending blocks are checked: every refusal is out by
// then. It returns how many blocks it handed to the writer.
func (rr *recvRoll) end(m *wire.RollEnd, bw *blockWriter, st *lockedStream) (int64, error) {
	if rr == nil {
		return 0, protocolErrorf("RollEnd in a session without the search")
	}
	if rr.ended || rr.cur >= 0 || int64(m.Blocks) != rr.pieced {
		return 0, protocolErrorf("RollEnd after %d blocks in pieces, we had %d (block %d incomplete: %t)", m.Blocks, rr.pieced, rr.cur, rr.cur >= 0)
	}
	took, err := rr.verify(bw, st)
	if err != nil {
		return took, err
	}
	rr.ended = true
	rr.r.tot.moved.Add(rr.took)
	rr.r.tot.reused.Add(rr.reused)
	end := &wire.RollEnd{Blocks: uint64(rr.took), Bytes: uint64(rr.reused)}
	if rr.out != nil { // after the refusals, from their goroutine
		return took, rr.out.push(end)
	}
	// Without refusals the sender, done with its pieces, reads: it waits
	// for this.
	rr.sendMu.Lock()
	defer rr.sendMu.Unlock()
	return took, wrapStream(st.Send(end))
}

// check tells, at StripeEnd, whether the stripe's pieces ended and every
// refused block came again.
func (rr *recvRoll) check() error {
	switch {
	case rr == nil:
		return nil
	case !rr.ended:
		return protocolErrorf("StripeEnd without RollEnd")
	case len(rr.refused) > 0:
		return fmt.Errorf("%w: %d refused blocks never sent again", ErrVerify, len(rr.refused))
	}
	return nil
}

// close frees the kept blocks, once the hasher has stopped.
func (rr *recvRoll) close() {
	if rr == nil {
		return
	}
	rr.out.close()
	rr.dropPending(rr.pend)
	rr.pend = nil
	rr.mu.Lock()
	for _, b := range rr.src {
		putBuf(rr.r.p.BlockSize, b.buf)
	}
	rr.src = nil
	rr.mu.Unlock()
	if rr.buf != nil {
		putBuf(rr.r.p.BlockSize, rr.buf)
		rr.buf = nil
	}
}
