package engine

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pdiffagent/pdiffagent/sysio"
	"github.com/pdiffagent/pdiffagent/wire"
)

// receiver is the side with the old data.
type receiver struct {
	dst       *sysio.File // nil only in a dry run against a missing target
	tgt       *Target     // dst's Target, if the caller gave one (ReceiveTarget)
	oldSize   int64       // the target's size before the sync
	p         Params
	opt       Options
	sess      *session
	weak      WeakFunc
	zero      *zeroHashes
	zeros     []byte // a block of zeros, for targets that cannot hold holes
	zerosOnce sync.Once
	tailKept  int64 // bytes of a larger target device past the source's end
	cache     *fileCache
	noJournal bool  // pipe mode's save: no journal (it cannot resume)
	read0     int64 // dst.BytesRead() when the session began
	peer      *wire.Report
	dig       sharedDigest
	equal     equalStripes // equal.go
	tot       counters
	// share is the streaks of refinement and of the search's keeping
	// (Options.Recv, or the session's own).
	share *RecvShare
	flush *flusher // early flushes (flusher.go); nil for none
}

// Receive runs the receiver's side: it brings dst up to date with the
// sender's file. dst may be nil only in a dry run, for a target that does
// not exist.
func Receive(ctx context.Context, dst *sysio.File, p Params, streams []Stream, opt Options) (Stats, error) {
	return receive(ctx, dst, nil, p, streams, opt)
}

func receive(ctx context.Context, dst *sysio.File, tgt *Target, p Params, streams []Stream, opt Options) (Stats, error) {
	start := time.Now()
	if err := p.checkBound(); err != nil {
		return Stats{}, err
	}
	if len(streams) != p.Workers {
		return Stats{}, fmt.Errorf("engine: %d streams for %d workers", len(streams), p.Workers)
	}
	if dst == nil && !p.DryRun {
		return Stats{}, fmt.Errorf("engine: no target")
	}
	r := &receiver{dst: dst, tgt: tgt, p: p, opt: opt, sess: newSession(ctx, streams), weak: opt.weak(ctx, p.Caps), share: opt.recvShare()}
	r.zero = newZeroHashes(r.weak, p.Strong)
	if dst != nil {
		r.read0 = dst.BytesRead()
	}
	defer r.sess.cancel()
	r.flush = newFlusher(dst, p, opt)
	defer r.flush.stop() // no flush outlives Receive; commit reports its error
	err := r.prepare()
	if err != nil {
		r.sess.fail(err)
		r.sess.abort(err)
	} else if err = r.sess.run(r.worker); err == nil {
		if err = r.finish(); err != nil {
			r.sess.fail(err)
			r.sess.abort(r.sess.firstErr())
			err = r.sess.firstErr()
		}
	}
	if err != nil {
		r.cache.abort()
	} else {
		r.cache.commit()
	}
	st := r.tot.stats()
	st.BytesWire = r.sess.wire.Load()
	st.finish(p, time.Since(start).Seconds())
	st.TargetTailKept = r.tailKept
	st.TargetCache, st.TargetRead = r.report()
	st.SourceCache, st.SourceRead = peerReport(r.peer)
	if err != nil {
		// Stripes count their changed blocks when they end; a failed one
		// still wrote what landed.
		st.BlocksChanged = max(st.BlocksChanged, r.tot.landed.Load())
		return st, err
	}
	st.Verified = !p.DryRun && st.BlocksConfirmed+st.BlocksChanged == st.BlocksTotal
	return st, nil
}

// prepare learns the target's size and, unless this is a dry run, makes
// room for the source: a device must be large enough; a regular file is
// extended, sparse (a hole, which zero blocks then need not touch) or with
// fallocate under NoSparse. A larger file is truncated at the end, in
// finish, unless the sync is ranged.
func (r *receiver) prepare() error {
	if r.dst == nil {
		return nil
	}
	size, err := r.dst.Size()
	if err != nil {
		return fmt.Errorf("size of %s: %w", r.dst.Name(), err)
	}
	r.oldSize = size
	if r.opt.DeferSync && r.opt.Records == nil {
		r.opt.Cache = nil // a record must not trust data not yet durable
	}
	r.cache = lookupCache(r.opt.Cache, r.dst, r.tgt.basis(), r.p, true)
	r.cache.deferTo(r.opt.Records)
	if r.p.DryRun {
		return nil
	}
	r.cache.startWriting(r.p, !r.noJournal)
	if r.noJournal { // pipe mode's save writes blocks itself: the record goes now
		if err := r.cache.beforeWrite(); err != nil {
			return err
		}
	}
	if r.p.Owner && !r.dst.IsDevice() && !sysio.CanChown() {
		return fmt.Errorf("--owner: only root may give %s the source's owner", r.dst.Name())
	}
	end := r.p.End
	if r.dst.IsDevice() {
		if size < end {
			return fmt.Errorf("target device %s holds %d bytes, less than the source's %d", r.dst.Name(), size, end)
		}
		if !r.p.Partial() {
			r.tailKept = size - end
		}
		return nil
	}
	if size < end {
		if err := r.cache.beforeWrite(); err != nil {
			return err
		}
		if r.p.NoSparse {
			err = r.dst.Allocate(size, end-size)
		} else {
			err = r.dst.Truncate(end)
		}
		if err != nil {
			return fmt.Errorf("extend %s to %d bytes: %w", r.dst.Name(), end, err)
		}
	}
	return nil
}

// finish takes the sender's Final, commits the target (truncate, fsync) and
// acknowledges with the receiver's counts.
func (r *receiver) finish() error {
	st0 := r.sess.streams[0]
	m, err := recvReport(st0, &r.peer)
	if err != nil {
		return err
	}
	final, ok := m.(*wire.Final)
	if !ok {
		return protocolErrorf("want Final, got %T", m)
	}
	ours, err := r.equalDigest(final)
	if err != nil {
		return err
	}
	if !r.p.DryRun && final.Digest != ours {
		return fmt.Errorf("%w: end-to-end digest differs: sender %x, receiver %x", ErrVerify, final.Digest[:8], ours[:8])
	}
	changed, confirmed := r.tot.changed.Load(), r.tot.confirmed.Load()
	if changed+confirmed != r.p.Blocks() {
		return fmt.Errorf("%w: %d blocks sent and %d confirmed of %d", ErrVerify, changed, confirmed, r.p.Blocks())
	}
	if !r.p.DryRun {
		if err := r.commit(final); err != nil {
			return err
		}
		if err := r.tgt.Commit(); err != nil { // an atomic replacement's rename
			return err
		}
		r.cache.commit() // before the ack, so that a rerun finds the record
		if TestHookCommitted != nil {
			TestHookCommitted(r.sess.ctx)
		}
	}
	ack := &wire.FinalAck{Bytes: uint64(r.tot.written.Load()), Confirmed: uint64(confirmed), Digest: ours}
	if !r.p.DryRun {
		ack.Written = uint64(changed)
	}
	word, read := r.report()
	if err := st0.Send(newReport(word, read)); err != nil {
		return wrapStream(err)
	}
	if err := st0.Send(ack); err != nil {
		return wrapStream(err)
	}
	for _, st := range r.sess.streams {
		st.CloseSend()
	}
	return nil
}

// stripeState is what a worker's two goroutines share. The hasher writes
// need and strong before it closes done; decided is read by the reader
// while the hasher runs.
type stripeState struct {
	first, end int64
	decided    atomic.Int64 // blocks below this have had their verdict sent
	need       int64        // blocks the hasher asked for
	strong     int64        // blocks the hasher sent a strong hash for
	hashed     digest       // the hasher's part of the digest: offered blocks
	written    digest       // the reader's part: blocks received
	received   int64        // the reader's: next block a Data may name (the sender sends each block once, in order)
	refine     refineQueue  // blocks offered in sub-blocks, not yet settled
	offered    offeredQueue // recording: offered blocks not yet known to be kept
	settled    digest       // the reader's: sub-blocks of refined blocks confirmed by the sender
	settledN   int64        // the reader's: refined blocks settled
	roll       *recvRoll    // the search's state (rolling_recv.go); nil without it
	skip       skipState    // the hasher's: unread needs (skipread.go)
	done       chan error
	// unasked are the reader's: the batches announced Unasked and not yet
	// known to be decided; kicked, the hasher's signal that it decided
	// one (unasked.go).
	unasked []unaskedRange
	kicked  chan struct{}
}

// worker receives one stripe. The hasher goroutine answers each WeakBatch
// with a Verdict; this goroutine reads the stream, hands WeakBatches to the
// hasher (weak is buffered deeper than the sender's window, so handing over
// never blocks) and writes Data blocks. It owns and closes weak.
func (r *receiver) worker(ctx context.Context, w int, st *lockedStream) (err error) {
	first, end := r.p.Stripe(w)
	ss := &stripeState{first: first, end: end, received: first, done: make(chan error, 1), kicked: make(chan struct{}, 1)}
	ss.refine.share, ss.refine.probe = &r.share.refine, &r.share.refine.probe
	if r.opt.Recv == nil {
		ss.refine.probe = new(atomic.Int64) // each worker probes its own needed blocks
	} else {
		// A tree's streak stopped by its small files, rewritten whole,
		// would leave a large file's few changed bytes unrefined (each
		// block sent whole) until a probe: a long stripe probes first.
		ss.refine.probeFirst = end-first >= refineProbe
	}
	ss.decided.Store(first)
	if ss.roll, err = r.newRecvRoll(); err != nil {
		return err
	}
	defer ss.roll.close() // runs after the hasher has stopped (deferred below)
	var weak chan hashJob
	if r.p.WholeFile {
		ss.decided.Store(end)
		ss.done <- nil
	} else {
		weak = make(chan hashJob, windowBatches+2)
		go func(weak <-chan hashJob) {
			err := r.hashStripe(ctx, ss, weak, st)
			if err != nil {
				r.sess.fail(err)
			}
			ss.done <- err
		}(weak)
	}
	closeWeak := func() {
		if weak != nil {
			close(weak)
			weak = nil
		}
	}
	waited := false
	defer func() { // on failure: stop the session first, so a hasher blocked in Send is freed
		if err != nil {
			r.sess.fail(err)
		}
		closeWeak()
		if !waited {
			<-ss.done
		}
		if err != nil { // no Data for them was taken: they are as offered, for the journal
			r.settleOffered(ss, ss.end, false)
		}
	}()
	var bw *blockWriter
	if !r.p.DryRun {
		bw = r.startWriter(ss)
	}
	waitWriter := func() error {
		if bw == nil {
			return nil
		}
		werr := bw.wait()
		bw = nil
		return werr
	}
	defer func() {
		if werr := waitWriter(); err == nil {
			err = werr
		}
	}()
	next := first // next block a WeakBatch must start at
	var got int64 // Data blocks received
	for {
		m, rerr := recvMsg(st)
		if rerr != nil {
			return rerr
		}
		switch m := m.(type) {
		case *wire.WeakBatch:
			n := int64(len(m.Hashes))
			if r.p.WholeFile || int64(m.First) != next || n == 0 || next+n > end {
				return protocolErrorf("WeakBatch for blocks %d+%d, want one starting at %d within stripe [%d,%d)", m.First, n, next, first, end)
			}
			next += n
			weak <- hashJob{wb: m}
		case *wire.Unasked:
			n := int64(m.Count)
			if !r.p.Caps.Has(wire.CapUnasked) || r.p.WholeFile || r.p.DryRun || int64(m.First) != next || next+n > end {
				return protocolErrorf("Unasked for blocks %d+%d, want one starting at %d within stripe [%d,%d)", m.First, n, next, first, end)
			}
			ss.unasked = append(ss.unasked, unaskedRange{next, next + n})
			next += n
			weak <- hashJob{un: m}
		case *wire.Data:
			if err := r.awaitUnasked(ctx, ss, int64(m.Block)); err != nil {
				return err
			}
			if err := r.writeBlock(ss, bw, m); err != nil {
				return err
			}
			got++
		case *wire.SubData:
			if err := r.writeSub(ss, bw, m); err != nil {
				return err
			}
		case *wire.CopyFrom, *wire.Literal:
			took, err := ss.roll.piece(ss, bw, st, m)
			if err != nil {
				return err
			}
			got += took
		case *wire.RollEnd:
			took, err := ss.roll.end(m, bw, st)
			if err != nil {
				return err
			}
			got += took
		case *wire.StripeEnd:
			if err := ss.roll.check(); err != nil {
				return err
			}
			closeWeak()
			waited = true
			if err := <-ss.done; err != nil {
				return err
			}
			r.settleBefore(ss, bw, end)
			r.settleOffered(ss, end, false)
			got += ss.settledN
			if err := waitWriter(); err != nil {
				return err
			}
			return r.endStripe(ss, m, got, next)
		default:
			return protocolErrorf("unexpected %T in stripe [%d,%d)", m, first, end)
		}
	}
}

// endStripe checks the sender's account of the stripe against ours.
func (r *receiver) endStripe(ss *stripeState, m *wire.StripeEnd, got, next int64) error {
	blocks := ss.end - ss.first
	sent, confirmed := int64(m.Sent), int64(m.Confirmed)
	if r.endByRecord(ss, m, next) {
		r.tot.confirmed.Add(confirmed)
		return nil
	}
	if !r.p.WholeFile && next != ss.end {
		return protocolErrorf("stripe [%d,%d) ended at block %d", ss.first, ss.end, next)
	}
	if sent+confirmed != blocks || confirmed > ss.strong || (!r.p.WholeFile && sent != ss.need+ss.strong-confirmed) {
		return fmt.Errorf("%w: stripe [%d,%d): sender sent %d and confirmed %d; we asked for %d and offered %d strong hashes",
			ErrVerify, ss.first, ss.end, sent, confirmed, ss.need, ss.strong)
	}
	if !r.p.DryRun && got != sent {
		return fmt.Errorf("%w: stripe [%d,%d): received %d blocks, sender says %d", ErrVerify, ss.first, ss.end, got, sent)
	}
	r.tot.changed.Add(sent)
	r.tot.confirmed.Add(confirmed)
	r.tot.collisions.Add(ss.strong - confirmed)
	r.dig.merge(&ss.hashed)
	r.dig.merge(&ss.written)
	r.dig.merge(&ss.settled)
	return nil
}
