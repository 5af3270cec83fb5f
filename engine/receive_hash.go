package engine

import (
	"context"
	"fmt"

	"github.com/pdiffagent/pdiffagent/engine/cache"
	"github.com/pdiffagent/pdiffagent/sysio"
	"github.com/pdiffagent/pdiffagent/wire"
)

// hashStripe answers WeakBatches in order: a block the target lacks, or
// whose weak hash differs, is needed; any other is offered with its strong
// hash for the sender to confirm.
func (r *receiver) hashStripe(ctx context.Context, ss *stripeState, weak <-chan hashJob, st *lockedStream) error {
	strong, err := newStrongHasher(r.p.Strong)
	if err != nil {
		return err
	}
	// Blocks read whose tier-2 hashes are pending (hashBatch).
	bufs := make(lanesBufs, hashLanes(r.p.BlockSize))
	for i := range bufs {
		bufs[i] = getBuf(r.p.BlockSize, r.p.BlockSize)
		defer putBuf(r.p.BlockSize, bufs[i])
	}
	holes := newHoleScanner(r.dst)
	bs := int64(r.p.BlockSize)
	if r.cache == nil || r.cache.known == nil {
		adviseStripe(r.dst, ss.first*bs, min(ss.end*bs, r.oldSize))
	} else if !r.cache.resumed && r.dst != nil {
		// A record knows every block: what is read (blocks to refine) is
		// scattered, and read-ahead would read around each (measured: 18
		// MiB more than the 102 refined blocks of a 10%-changed 1 GiB
		// push, read_ahead_kb 8192). A journal's unlogged rest is read
		// in order, with read-ahead.
		r.dst.AdviseRandom()
	}
	for job := range weak {
		if job.un != nil {
			r.decideUnasked(ss, job.un)
			continue
		}
		wb := job.wb
		n := len(wb.Hashes)
		v := &wire.Verdict{First: wb.First, Count: uint32(n), Need: make([]bool, n)}
		var view *blockView
		known, have := r.cache.lookupKnown(int64(wb.First), n)
		if r.dst != nil && known == nil { // partly known: pread just the rest
			view = mapBlocks(r.dst, r.p, r.opt, r.oldSize, int64(wb.First), int64(n))
		}
		var rf *refineBatch
		if r.p.refining() {
			rf = &refineBatch{ref: &wire.Refine{First: wb.First, SubSize: uint32(r.p.MinBlock)}, weak: r.opt.subWeak(r.p.Caps),
				subWeak: r.p.Caps.Has(wire.CapSubWeak) && ss.roll != nil}
		}
		ss.roll.begin(wb)
		err := r.hashBatch(ctx, ss, wb, v, view, strong, bufs, holes, known, have, rf)
		view.close()
		if err != nil {
			return err
		}
		if rf != nil {
			ss.refine.push(rf.q) // before decided moves past them
		}
		ss.decided.Store(int64(wb.First) + int64(n))
		if err := r.sendVerdict(ss, st, v, rf); err != nil {
			return err
		}
	}
	return nil
}

// sendVerdict sends a batch's Verdict, and its Refine and RollSums when
// the session has them, as one run on the stream.
func (r *receiver) sendVerdict(ss *stripeState, st *lockedStream, v *wire.Verdict, rf *refineBatch) error {
	if ss.roll != nil {
		ss.roll.sendMu.Lock()
		defer ss.roll.sendMu.Unlock()
	}
	if err := st.Send(v); err != nil {
		return wrapStream(err)
	}
	if rf != nil {
		if err := st.Send(rf.ref); err != nil {
			return wrapStream(err)
		}
	}
	if ss.roll != nil {
		return wrapStream(st.Send(ss.roll.sums))
	}
	return nil
}

// lanesBufs are a worker's read buffers: a block that looks the same is
// tier-2 hashed together with the next ones (strongHasher.sums), so up to
// hashLanes of them wait in their own buffers.
type lanesBufs [][]byte

// pendingStrong is a block whose tier-2 hash waits for its lane: where it
// goes in the Verdict (vi) and in the offered records (pi, or -1).
type pendingStrong struct {
	blk    int64
	vi, pi int
}

// hashBatch fills v, the Verdict for wb, taking the target's hashes from
// known where have says the cache knows them, and otherwise reading its
// blocks from view when it is mapped and into bufs when not. The blocks
// that look the same, and the sub-blocks of the blocks it refines, are
// tier-2 hashed together (settle) once they fill bufs or the batch is
// done; a known or zero block's hash, which needs no hashing, first
// settles those before it, so that the pending blocks are always the last
// entries of v.Strong and of the offered records. A known block
// recorded without its tier-2 hash (cache.NoStrong, by an earlier build)
// is needed without a read when its tier-1 hash differs, and read and
// hashed when it matches. Offered blocks are recorded once kept
// (offeredQueue).
func (r *receiver) hashBatch(ctx context.Context, ss *stripeState, wb *wire.WeakBatch, v *wire.Verdict,
	view *blockView, strong *strongHasher, bufs lanesBufs, holes *holeScanner, known []cache.Entry, have []bool, rf *refineBatch) (err error) {
	var put []int64 // offered blocks, recorded as they are once kept
	var puts []cache.Entry
	var pend []pendingStrong
	var pendBufs [][]byte
	jobs := &strong.jobs // refined blocks' sub-blocks, hashed with pend
	jobs.reset()
	used := 0 // bufs holding bytes whose tier-2 hashes wait (pend, jobs)
	defer func() {
		if err != nil && len(pend) > 0 && pend[0].pi >= 0 { // never record a hash not computed
			put, puts = put[:pend[0].pi], puts[:pend[0].pi]
		}
		if len(put) > 0 {
			ss.offered.push(put, puts)
		}
	}()
	settle := func() error {
		used = 0
		if len(pend) == 0 && len(jobs.parts) == 0 {
			return nil
		}
		// The whole blocks first: a lane takes the next message when its
		// own ends, so the sub-blocks fill the other lanes beside them.
		parts, idx := strong.gather()
		parts = append(append(parts, pendBufs...), jobs.parts...)
		var out [][wire.StrongSize]byte
		if err := sysio.Guard(func() { out = strong.sumGathered(parts, idx) }); err != nil {
			return guardErr(err, r.dst, errTargetChanged)
		}
		for k, p := range pend {
			v.Strong[p.vi] = out[k]
			if p.pi >= 0 {
				puts[p.pi].Strong = out[k]
			}
			ss.hashed.addOffered(p.blk, out[k])
		}
		for k, d := range jobs.dsts {
			*d = out[len(pend)+k]
		}
		pend, pendBufs = pend[:0], pendBufs[:0]
		jobs.reset()
		return nil
	}
	// refine offers needed block blk, its bytes b, in sub-blocks; their
	// hashes wait for settle, holding b's buffer.
	refine := func(blk int64, b []byte) error {
		n := len(jobs.parts)
		if err := r.refineNeeded(ss, rf, blk, b, jobs); err != nil {
			return err
		}
		if len(jobs.parts) > n {
			if used++; used == len(bufs) {
				return settle()
			}
		}
		return nil
	}
	recording := r.cache.recording()
	for i, h := range wb.Hashes {
		if err := ctx.Err(); err != nil {
			return err
		}
		blk := int64(wb.First) + int64(i)
		off, ln := blk*int64(r.p.BlockSize), r.p.BlockLen(blk)
		if r.dst == nil || off+int64(ln) > r.oldSize {
			v.Need[i] = true
			ss.need++
			if err := ss.roll.offerTail(blk, off, bufs[used]); err != nil {
				return err
			}
			continue
		}
		var sum [wire.StrongSize]byte
		useKnown := have != nil && have[i]
		if useKnown && known[i].Weak != h { // a certain difference, tier-2 hash known or not
			v.Need[i] = true
			ss.need++
			// The record's hashes spared the read: read it now if
			// refinement wants its sub-blocks or the search its old bytes
			// (doc.go, "Rolling search"); a block read is offered to the
			// search either way, as an unrecorded one is.
			refineIt, offerIt := rf.want(ss), ss.roll.keeping()
			if refineIt || offerIt {
				b := bufs[used][:ln]
				if _, err := r.dst.ReadAt(b, off); err != nil {
					return fmt.Errorf("read %s: %w", r.dst.Name(), err)
				}
				ss.roll.offer(blk, b, known[i].Weak, true)
				if refineIt {
					if err := refine(blk, b); err != nil {
						return err
					}
				} else if rf.weakOnly(ss) {
					if err := r.offerWeak(rf, blk, b); err != nil {
						return err
					}
				}
			}
			continue
		}
		if useKnown && known[i].HasStrong() {
			if err := settle(); err != nil {
				return err
			}
			sum = known[i].Strong
		} else if holes.hole(off, ln) {
			var w uint64
			if w, sum = r.zero.get(ln); w != h {
				v.Need[i] = true
				ss.need++
				continue
			}
			if err := settle(); err != nil {
				return err
			}
		} else {
			skip := r.skip(ss)
			if skip { // unread need (skipread.go)
				v.Need[i] = true
				ss.need++
				if rf != nil {
					ss.refine.passed()
				}
				continue
			}
			var b []byte
			if view != nil {
				b = view.block(blk, ln)
			} else {
				b = bufs[used][:ln]
				if _, err := r.dst.ReadAt(b, off); err != nil {
					return fmt.Errorf("read %s: %w", r.dst.Name(), err)
				}
			}
			same := false
			err := sysio.Guard(func() {
				w := r.weak(b)
				same = w == h
				ss.roll.offer(blk, b, w, !same)
			})
			if err != nil {
				return guardErr(err, r.dst, errTargetChanged)
			}
			if !same {
				v.Need[i] = true
				ss.need++
				ss.skip.differed()
				if rf.want(ss) {
					if err := refine(blk, b); err != nil {
						return err
					}
				} else if rf.weakOnly(ss) {
					if err := r.offerWeak(rf, blk, b); err != nil {
						return err
					}
				}
				continue
			}
			ss.skip.same()
			p := pendingStrong{blk: blk, vi: len(v.Strong), pi: -1}
			v.Strong = append(v.Strong, sum) // set by settle
			if recording {
				p.pi = len(put)
				put = append(put, blk)
				puts = append(puts, cache.Entry{Weak: h})
			}
			ss.strong++
			pend, pendBufs = append(pend, p), append(pendBufs, b)
			if used++; used == len(bufs) {
				if err := settle(); err != nil {
					return err
				}
			}
			continue
		}
		v.Strong = append(v.Strong, sum)
		if recording {
			put = append(put, blk)
			puts = append(puts, cache.Entry{Weak: h, Strong: sum})
		}
		ss.hashed.addOffered(blk, sum)
		ss.strong++
	}
	return settle()
}
