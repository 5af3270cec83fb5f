package engine

import (
	"context"
	"sync/atomic"

	"github.com/pdiffagent/pdiffagent/engine/cache"
	"github.com/pdiffagent/pdiffagent/wire"
)

// Unasked batches (wire.CapUnasked; doc.go has the outline). When a
// stripe's blocks keep being sent whole (a replaced file, a new target),
// asking about each is wasted: the sender reads every block ahead of its
// verdict, holds it (a window of buffers that leave the caches before they
// are encrypted, and memory the process first has to touch), and the
// receiver answers need for each. So after unaskedStreak blocks in a row
// sent whole, while the search finds nothing (SearchShare.quiet), the
// sender's reader announces its next batches with an Unasked instead of a
// WeakBatch and reads nothing ahead; its decider then reads, hashes (tier
// 1, for the digest) and hands each of their blocks to the send queue in
// turn, a few pooled buffers cycling. One batch in unaskedAsk is still
// asked, a WeakBatch of a single block, so that the receiver keeps
// comparing (the first read after an unasked batch is a probe of its
// skipping, and refinement's and the search's probes go on): that block
// confirmed, refined or found moved ends the unasked run. Blocks sent
// unasked that were in fact equal cost at most the batches announced
// before the probe's verdict came (TestUnaskedEnds bounds them).
//
// Measured on the 2-core development VM, fully replaced 1 GiB pushes over
// TCP: every block sent without asking (the whole-file mode) took both
// ends' CPU-s median 1.86 against 2.12 asked (6 interleaved pairs);
// unasked batches 1.67 against 1.86 and 2.11 against 2.33 (two sets of 6
// and 8), the client's peak RSS 46-47 against 56-57 MB. Sending from the
// decider itself instead of through the send queue (so that a block is
// encrypted on the core that read it) was slower: 2.33 against 2.12.
const (
	unaskedStreak = 8
	unaskedAsk    = 4
)

// unaskedRun is a sender worker's state: its decider's count of blocks
// sent whole in a row, and its reader's count of batches while unasked.
type unaskedRun struct {
	on  atomic.Bool // set by the decider: the next batches may go unasked
	run int         // the decider's: blocks sent whole in a row
	n   int         // the reader's: batches read since the run began
}

// newUnaskedRun returns the worker's state, or nil when the session
// cannot send unasked (the peer lacks the capability; a dry run counts
// exactly; a whole-file session asks nothing anyway; a source with a
// record reads only the blocks it sends already).
func (s *sender) newUnaskedRun() *unaskedRun {
	if !s.p.Caps.Has(wire.CapUnasked) || s.p.DryRun || s.p.WholeFile || s.cache.hasKnown() || s.opt.testAsk {
		return nil
	}
	return &unaskedRun{}
}

// next is the reader's: whether the batch it is about to read goes
// unasked, or is the run's asked probe of a single block (one batch in
// unaskedAsk).
func (u *unaskedRun) next() (unasked, probe bool) {
	if u == nil || !u.on.Load() {
		if u != nil {
			u.n = 0
		}
		return false, false
	}
	u.n++
	return u.n%unaskedAsk != 0, u.n%unaskedAsk == 0
}

// block is the decider's, after each block of an asked batch: whole when
// it was sent whole (needed, not refined, not found moved) while the
// search is quiet; anything else ends the run.
func (u *unaskedRun) block(whole bool) {
	if u == nil {
		return
	}
	if !whole {
		u.run = 0
		u.on.Store(false)
		return
	}
	if u.run++; u.run >= unaskedStreak {
		u.on.Store(true)
	}
}

// readUnasked prepares batch [first, first+n) to go unasked: only where
// the source's holes are (sent as zero blocks), nothing read.
func (s *sender) readUnasked(first, n int64, holes *holeScanner) *pendingBatch {
	pb := &pendingBatch{first: first, bufs: make([][]byte, n), unasked: make([]bool, n), ready: make(chan struct{})}
	for i := range n {
		blk := first + i
		pb.unasked[i] = !holes.hole(blk*int64(s.p.BlockSize), s.p.BlockLen(blk)) // false: a hole
	}
	return pb
}

// sendUnasked sends the blocks of an unasked batch, each read into a
// pooled buffer (the one the previous block's Data gave back), hashed for
// the digest (and the source's record) and handed to the stream.
func (s *sender) sendUnasked(st *lockedStream, b *pendingBatch, strong *strongHasher, dg *digest, rs *sendRoll) (sent int64, err error) {
	rec := s.cache.recording()
	var puts []cache.Entry
	if rec {
		puts = make([]cache.Entry, len(b.unasked))
	}
	defer func() {
		if rec && err == nil {
			s.cache.put(b.first, puts)
		}
		s.tot.changed.Add(sent)
	}()
	for i, data := range b.unasked {
		blk := b.first + int64(i)
		n := s.p.BlockLen(blk)
		var buf []byte // nil: a hole
		var w uint64
		if data {
			if buf, err = s.readBlock(blk); err != nil {
				return sent, err
			}
			w = s.weak(buf)
		} else {
			w, _ = s.zero.get(n)
		}
		if rec {
			puts[i] = cache.Entry{Weak: w, Strong: s.strongOf(strong, buf, n, false)}
		}
		if rs != nil {
			rs.share.skip(n) // a needed block not searched
		}
		dg.addSent(blk, w)
		if err := s.sendBlock(st, blk, buf); err != nil {
			return sent, err
		}
		sent++
		if c := s.opt.testUnasked; c != nil {
			c.Add(1)
		}
		if s.opt.Progress != nil {
			s.opt.Progress.Compared.Add(int64(n))
		}
	}
	return sent, nil
}

// hasKnown reports whether the file has a record whose hashes stand in
// for reads.
func (c *fileCache) hasKnown() bool { return c != nil && c.known != nil }

// hashJob is a batch the receiver's reader hands its hasher: a WeakBatch
// to answer, or an Unasked batch to take as needed.
type hashJob struct {
	wb *wire.WeakBatch
	un *wire.Unasked
}

// unaskedRange is an Unasked batch's blocks, [first, end).
type unaskedRange struct{ first, end int64 }

// decideUnasked is the hasher's, for an Unasked batch, in its place among
// the stripe's batches: every block needed, nothing read, no Verdict. The
// blocks count toward refinement's next probe as unread needs do; the
// search's old blocks behind them are dropped as a batch's are. It then
// tells the reader, which may be waiting for the first of them.
func (r *receiver) decideUnasked(ss *stripeState, u *wire.Unasked) {
	n := int64(u.Count)
	ss.need += n
	if r.p.refining() {
		for range n {
			ss.refine.passed()
		}
	}
	ss.roll.evictBefore(int64(u.First))
	if ss.skip.gap > 0 {
		ss.skip.left = 0 // the next asked batch starts with a probe read
	}
	ss.decided.Store(int64(u.First) + n)
	select {
	case ss.kicked <- struct{}{}:
	default: // a kick is already pending: the reader loads decided again
	}
}

// awaitUnasked is the reader's, before it takes a Data for block i: if i
// lies in an Unasked batch the hasher has not yet decided (the sender sent
// it at once, without waiting for a Verdict), it waits for the hasher to
// get there. The hasher has sent every earlier Verdict before it does (the
// sender sends an Unasked batch's Data only after the Verdicts of the
// batches before it), so it is not waiting for this reader.
func (r *receiver) awaitUnasked(ctx context.Context, ss *stripeState, i int64) error {
	for len(ss.unasked) > 0 && ss.unasked[0].end <= ss.decided.Load() {
		ss.unasked = ss.unasked[1:]
	}
	in := false
	for _, u := range ss.unasked {
		in = in || (u.first <= i && i < u.end)
	}
	if !in { // decided already, or not the sender's to send yet (writeBlock says so)
		return nil
	}
	for ss.decided.Load() <= i {
		select {
		case <-ss.kicked:
		case <-ctx.Done():
			return context.Cause(ctx)
		}
	}
	return nil
}
