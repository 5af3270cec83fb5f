package engine

import (
	"time"

	"github.com/pdiffagent/pdiffagent/engine/cache"
	"github.com/pdiffagent/pdiffagent/sysio"
	"github.com/pdiffagent/pdiffagent/wire"
)

// verdictMsgs is what the receiver answers a batch's WeakBatch: its
// Verdict and, per block, the sub-block sums of those it refined (refs,
// in sub-blocks of sub bytes); the RollSums that follows goes into the
// search's index as it arrives.
type verdictMsgs struct {
	v    *wire.Verdict
	refs []*wire.RefineBlock
	sub  int
}

// recvVerdict takes b's Verdict, its Refine when the session refines and
// its RollSums when it searches.
func (s *sender) recvVerdict(st *lockedStream, b *pendingBatch, rs *sendRoll) (verdictMsgs, error) {
	var ev verdictMsgs
	m, err := rs.recv(st)
	if err != nil {
		return ev, err
	}
	v, ok := m.(*wire.Verdict)
	if !ok {
		return ev, protocolErrorf("want Verdict for block %d, got %T", b.first, m)
	}
	if int64(v.First) != b.first || int(v.Count) != len(b.bufs) {
		return ev, protocolErrorf("verdict for blocks %d+%d, want %d+%d", v.First, v.Count, b.first, len(b.bufs))
	}
	ev.v = v
	if s.p.refining() {
		if ev.refs, ev.sub, err = s.recvRefine(st, b, v); err != nil {
			return ev, err
		}
	}
	if rs != nil {
		if err := rs.recvSums(st, b); err != nil {
			return ev, err
		}
	}
	return ev, nil
}

// rollAheadBatches is the most batches after the one it decides that the
// decider takes the answers to first, while the search is on
// (sendRoll.ahead: all of them at first, then one unless a deletion
// needs more).
const rollAheadBatches = 3

// lookAhead takes the answers to the rs.ahead batches after b
// before b is decided, when b has a needed block that the search will look
// at (one that refinement does not serve) and the search is on and not
// quiet: their RollSums put those batches' old blocks in the index, so
// that b's search finds data moved back from there, as after a deletion.
// The receiver offers a batch's blocks only with its verdict, and without
// this a deletion of d bytes lost about d bytes per batch of batchBytes: a
// quarter of the file for 1 MiB deleted, all of it from 4 MiB (1 GiB
// pushed over TCP, 1 MiB blocks). Meanwhile the reader's pace is kept at
// least a batch beyond them, so that waiting for the reader to hand them
// over is safe (as in the search's fill).
func (s *sender) lookAhead(st *lockedStream, b *pendingBatch, ev verdictMsgs, pre batchHashes, rs *sendRoll) error {
	if rs == nil || rs.pace == nil {
		return nil
	}
	if rs.off || rs.quiet() {
		rs.pace.atLeast(0)
		return nil
	}
	search := false
	for i, need := range ev.v.Need {
		var ref *wire.RefineBlock
		var ws []uint64
		if ev.refs != nil && pre.ws != nil {
			ref, ws = ev.refs[i], pre.ws[i]
		}
		held := b.bufs[i] != nil || b.have != nil && b.have[i] // not a hole; a known block is read to be sent
		search = search || need && held && (ws == nil || !refineServes(ref, ws))
	}
	if !search {
		return nil
	}
	rs.pace.atLeast(rs.ahead + 1)
	nb := b
	for range rs.ahead {
		select {
		case <-nb.ready:
		case <-s.sess.ctx.Done():
			return s.sess.ctx.Err()
		}
		if nb = nb.next; nb == nil || nb.unasked != nil {
			return nil
		}
		if nb.early != nil {
			continue
		}
		asked := time.Now()
		ev, err := s.recvVerdict(st, nb, rs)
		if err != nil {
			return err
		}
		nb.early, nb.waited = &ev, time.Since(asked)
	}
	return nil
}

// decide takes the verdict for b and sends what differs. It returns how
// many blocks were sent (or would be, in a dry run) and confirmed.
func (s *sender) decide(st *lockedStream, b *pendingBatch, strong *strongHasher, dg *digest, rs *sendRoll, ua *unaskedRun) (sent, confirmed int64, err error) {
	defer s.release(b)
	defer func() { err = s.flush(st, strong, err) }() // the search's outbox, if it started one (outbox.go)
	var ev verdictMsgs
	if b.early != nil { // taken ahead, deciding the batch before (lookAhead)
		ev, b.early = *b.early, nil
	} else {
		asked := time.Now()
		if ev, err = s.recvVerdict(st, b, rs); err != nil {
			return 0, 0, err
		}
		b.waited = time.Since(asked)
	}
	v, refs, sub := ev.v, ev.refs, ev.sub
	rec := s.cache.recording()
	pre, err := s.strongs(b, v, refs, sub, strong, rec)
	if err != nil {
		return 0, 0, err
	}
	if err := s.lookAhead(st, b, ev, pre, rs); err != nil {
		return 0, 0, err
	}
	k := 0 // next strong hash in v.Strong
	var puts []cache.Entry
	if rec {
		puts = make([]cache.Entry, len(b.bufs))
	}
	for i, buf := range b.bufs {
		blk := b.first + int64(i)
		need := v.Need[i]
		known := b.have != nil && b.have[i]
		var sum [wire.StrongSize]byte
		if !need {
			if k >= len(v.Strong) {
				return sent, confirmed, protocolErrorf("verdict for block %d lacks strong hashes", b.first)
			}
			if known && b.known[i].HasStrong() {
				sum = b.known[i].Strong
			} else if known {
				// Recorded without its tier-2 hash (sent by an earlier
				// session): read it and hash it, as without a cache.
				if buf, err = s.readBlock(blk); err != nil {
					return sent, confirmed, err
				}
				b.bufs[i], known = buf, false
				sum = strong.sum(buf)
			} else if buf == nil {
				_, sum = s.zero.get(s.p.BlockLen(blk))
			} else {
				sum = pre.sums[i]
			}
			dg.addOffered(blk, v.Strong[k])
			if sum == v.Strong[k] {
				confirmed++
			} else {
				need = true
				s.tot.collisions.Add(1)
			}
			k++
		}
		if need && known {
			// Recorded, not read: read it now. A changed source shows in the
			// digest (the receiver hashes what arrives) and in finish.
			if buf, err = s.readBlock(blk); err != nil {
				return sent, confirmed, err
			}
		}
		if rec {
			puts[i] = cache.Entry{Weak: b.weak[i], Strong: sum}
			if need && v.Need[i] && pre.hashed(i) { // sent: hashed with the batch's others (strongs)
				puts[i].Strong = pre.sums[i]
			} else if need { // sent: its tier-2 hash now, while the block is here (doc.go, "Records")
				puts[i].Strong = s.strongOf(strong, buf, s.p.BlockLen(blk), b.view != nil && !known)
			}
		}
		var ref, subs *wire.RefineBlock // refined; and either refined or by tier-1 hashes alone (the search's)
		var ws []uint64                 // ref's sub-blocks' tier-1 hashes, ours
		if refs != nil {
			ref, subs = refs[i], refs[i]
			if ref != nil && ref.WeakOnly {
				ref = nil
			}
		}
		var same []bool // ref's sub-blocks compared, when strongs did
		if need && ref != nil && buf != nil {
			if pre.ws != nil && pre.ws[i] != nil {
				ws, same = pre.ws[i], pre.same[i]
			} else if ws, err = s.subWeaks(buf, sub); err != nil {
				return sent, confirmed, err
			}
		}
		if need && v.Need[i] { // not a weak collision: its data is where it was
			var next *wire.RefineBlock // the next old block's sums, for recoverSubs
			if i+1 < len(refs) {
				next = refs[i+1]
			}
			pieced, err := rs.send(st, b, i, buf, ref, ws, subs, next, sub, strong, dg)
			if pieced && known && st.ob != nil {
				st.ob.later = append(st.ob.later, buf) // its copies are hashed at the flush
			} else if pieced && known {
				putBuf(s.p.BlockSize, buf) // read just now, not the batch's
			}
			if err != nil {
				return sent, confirmed, err
			}
			if pieced {
				sent++
				need = false
			}
		}
		if need && ref != nil && buf != nil { // a hole goes whole, as zeros
			whole, err := s.sendSubs(st, blk, buf, ref, ws, same, sub, strong, dg)
			if !whole && known {
				putBuf(s.p.BlockSize, buf) // read just now, not the batch's
			}
			if err != nil {
				return sent, confirmed, err
			}
			if !whole {
				sent++
				s.tot.refined.Add(1)
				need = false
			}
		}
		// Sent whole as needed (not confirmed, refined or found moved, nor
		// a weak collision) while the search is quiet: unasked.go.
		ua.block(need && v.Need[i] && (rs == nil || rs.quiet()))
		if need {
			sent++
			dg.addSent(blk, b.weak[i])
			if b.view != nil && buf != nil {
				// The message takes a pooled copy; the mapping stays ours.
				c := getBuf(s.p.BlockSize, len(buf))
				if err := sysio.Guard(func() { copy(c, buf) }); err != nil {
					putBuf(s.p.BlockSize, c)
					return sent, confirmed, guardErr(err, s.src.File, ErrSourceChanged)
				}
				buf = c
			}
			if err := s.sendBlock(st, blk, buf); err != nil {
				return sent, confirmed, err
			}
			b.bufs[i] = nil // ownership went with the message
		}
		if s.opt.Progress != nil {
			s.opt.Progress.Compared.Add(int64(s.p.BlockLen(blk)))
		}
	}
	if rec {
		s.cache.put(b.first, puts)
	}
	s.tot.changed.Add(sent)
	s.tot.confirmed.Add(confirmed)
	return sent, confirmed, nil
}

// batchHashes is what strongs computed for a batch, by block index.
type batchHashes struct {
	sums [][wire.StrongSize]byte // a block's tier-2 hash, where done[i]
	done []bool
	ws   [][]uint64 // a refined block's sub-blocks' tier-1 hashes, or nil
	same [][]bool   // and which of them are the same (subSame)
}

// hashed reports whether strongs computed block i's tier-2 hash.
func (h *batchHashes) hashed(i int) bool { return h.done != nil && h.done[i] }

// strongs computes together the tier-2 hashes a batch needs whose bytes
// are at hand (not a hole, not only recorded): those of every block the
// receiver offered and, when the source is being recorded (rec), of every
// block it needs, whose record entry wants them (doc.go, "Records are
// complete"); then those of the sub-blocks of every block it refined
// whose tier-1 hashes match (refs, sub: recvRefine), so that the lanes of
// strongHasher.sums fill even when a batch offers one block. Hashed one
// at a time as each was sent (single-lane SHA-NI, crypto/sha256), the
// needed blocks of a fully changed 1 GiB push with a cache took 0.84
// CPU-s of the client's (perf), four at a time 0.46; its client CPU fell
// from 2.03-2.11 to 1.70-1.92 s (three interleaved pairs). A refined
// block's comparison goes to sendSubs as same; should the search send it
// in pieces instead, that was hashed in vain.
func (s *sender) strongs(b *pendingBatch, v *wire.Verdict, refs []*wire.RefineBlock, sub int, strong *strongHasher, rec bool) (batchHashes, error) {
	var h batchHashes
	at := func(i int) bool { return b.bufs[i] != nil && (b.have == nil || !b.have[i]) }
	parts, idx := strong.gather()
	for i, buf := range b.bufs {
		if (!v.Need[i] || rec) && at(i) {
			idx, parts = append(idx, i<<20), append(parts, buf)
		}
	}
	for i, ref := range refs {
		if ref == nil || ref.WeakOnly || !v.Need[i] || !at(i) {
			continue
		}
		ws, err := s.subWeaks(b.bufs[i], sub)
		if err != nil {
			return h, err
		}
		if h.ws == nil {
			h.ws, h.same = make([][]uint64, len(b.bufs)), make([][]bool, len(b.bufs))
		}
		h.ws[i], h.same[i] = ws, make([]bool, len(ws))
		buf := b.bufs[i]
		for j := range ws {
			if ws[j] == ref.Weak[j] {
				idx, parts = append(idx, i<<20|(j+1)), append(parts, buf[j*sub:min((j+1)*sub, len(buf))])
			}
		}
	}
	if len(parts) == 0 {
		return h, nil
	}
	var sums [][wire.StrongSize]byte
	if err := sysio.Guard(func() { sums = strong.sumGathered(parts, idx) }); err != nil {
		return h, guardErr(err, s.src.File, ErrSourceChanged)
	}
	h.sums, h.done = make([][wire.StrongSize]byte, len(b.bufs)), make([]bool, len(b.bufs))
	for k, x := range idx {
		i, j := x>>20, x&(1<<20-1)-1
		if j < 0 {
			h.sums[i], h.done[i] = sums[k], true
		} else {
			h.same[i][j] = sums[k] == refs[i].Strong[j]
		}
	}
	return h, nil
}

// strongOf is the tier-2 hash of a block about to be sent, for the
// source's record: buf, or zeros when buf is nil (a hole). A mapping that
// faults leaves no record (the send fails too).
func (s *sender) strongOf(strong *strongHasher, buf []byte, n int, mapped bool) (sum [wire.StrongSize]byte) {
	if buf == nil {
		_, sum = s.zero.get(n)
		return sum
	}
	if !mapped {
		return strong.sum(buf)
	}
	if sysio.Guard(func() { sum = strong.sum(buf) }) != nil {
		s.cache.writeFailed()
	}
	return sum
}
