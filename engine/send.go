package engine

import (
	"context"
	"fmt"
	"time"

	"github.com/pdiffagent/pdiffagent/engine/cache"
	"github.com/pdiffagent/pdiffagent/sysio"
	"github.com/pdiffagent/pdiffagent/wire"
)

// sender is the side with the new data.
type sender struct {
	src  *Source
	p    Params
	opt  Options
	sess *session
	weak WeakFunc
	zero *zeroHashes
	tot  counters
	dig  sharedDigest
	// equal: the session ends at once, equal by records (equal.go).
	equal bool
	// cache is the source's block-hash cache: on a hit, weak and strong
	// hashes come from its record and only blocks to send are read;
	// otherwise it may record what this session hashes.
	cache *fileCache
	read0 int64        // src.File.BytesRead() when the session began
	peer  *wire.Report // the receiver's, if it sent one
	// search is the search's streak of fruitless searches: Options.Search,
	// or the session's own, which its stripes share (rolling_share.go).
	search *SearchShare
}

// Send runs the sender's side of a session: one stream per worker, in
// worker order; streams[0] also carries the session's final handshake.
// p.Size must be src.Size. It returns when the receiver has acknowledged the
// committed target, or with the first error (which it also reports to the
// peer).
func Send(ctx context.Context, src *Source, p Params, streams []Stream, opt Options) (Stats, error) {
	start := time.Now()
	if err := p.checkBound(); err != nil {
		return Stats{}, err
	}
	if p.Size != src.Size {
		return Stats{}, fmt.Errorf("engine: params size %d is not the source's %d", p.Size, src.Size)
	}
	if len(streams) != p.Workers {
		return Stats{}, fmt.Errorf("engine: %d streams for %d workers", len(streams), p.Workers)
	}
	s := &sender{src: src, p: p, opt: opt, sess: newSession(ctx, streams), weak: opt.weak(ctx, p.Caps), search: opt.Search}
	if s.search == nil {
		s.search = new(SearchShare)
	}
	s.zero = newZeroHashes(s.weak, p.Strong)
	defer s.sess.cancel()
	s.read0 = src.File.BytesRead()
	s.cache = lookupCache(opt.Cache, src.File, nil, p, false)
	s.cache.deferTo(opt.Records)
	if !p.DryRun && !p.WholeFile {
		s.cache.startSourceRecord(p)
	}
	if d, ok := s.cache.recordDigest(); ok && equalAllowed(p) && d == p.PeerRecord {
		s.equal = true
	}
	err := s.sess.run(s.worker)
	if err == nil {
		err = s.finish()
		if err != nil {
			s.sess.fail(err)
			s.sess.abort(s.sess.firstErr())
			err = s.sess.firstErr()
		}
	}
	if err != nil {
		s.cache.abort()
	} else {
		s.cache.commit()
	}
	st := s.tot.stats()
	st.BytesWire = s.sess.wire.Load()
	st.finish(p, time.Since(start).Seconds())
	st.SourceCache, st.SourceRead = s.cache.report(), src.File.BytesRead()-s.read0
	st.TargetCache, st.TargetRead = peerReport(s.peer)
	if err != nil {
		return st, err
	}
	st.Verified = !p.DryRun && st.BlocksConfirmed+st.BlocksChanged == st.BlocksTotal
	return st, nil
}

// finish checks that the source held still, then trades Final for the
// receiver's FinalAck on stream 0.
func (s *sender) finish() error {
	size, mtime, mode, err := s.src.recheck(s.cache.changed())
	if err != nil {
		return err
	}
	st0 := s.sess.streams[0]
	ours := s.dig.bytes()
	if s.equal {
		ours = s.p.PeerRecord
	}
	final := &wire.Final{Size: size, ModTime: mtime, Mode: uint32(mode), Uid: s.src.Uid, Gid: s.src.Gid, Digest: ours}
	if err := st0.Send(newReport(s.cache.report(), s.src.File.BytesRead()-s.read0)); err != nil {
		return wrapStream(err)
	}
	if err := st0.Send(final); err != nil {
		return wrapStream(err)
	}
	m, err := recvReport(st0, &s.peer)
	if err != nil {
		return err
	}
	ack, ok := m.(*wire.FinalAck)
	if !ok {
		return protocolErrorf("want FinalAck, got %T", m)
	}
	s.tot.written.Add(int64(ack.Bytes))
	if !s.p.DryRun && ack.Digest != ours {
		return fmt.Errorf("%w: end-to-end digest differs: receiver %x, sender %x", ErrVerify, ack.Digest[:8], ours[:8])
	}
	if !s.p.DryRun && int64(ack.Written+ack.Confirmed) != s.p.Blocks() {
		return fmt.Errorf("%w: receiver wrote %d and confirmed %d of %d blocks", ErrVerify, ack.Written, ack.Confirmed, s.p.Blocks())
	}
	for _, st := range s.sess.streams {
		st.CloseSend()
	}
	return nil
}

// pendingBatch is a batch whose weak hashes went out and whose blocks wait,
// in memory, for the receiver's verdict.
type pendingBatch struct {
	first int64
	bufs  [][]byte   // nil for a block in a hole of the source
	weak  []uint64   // also sent in the WeakBatch: read-only from then on
	view  *blockView // when not nil, bufs are slices of this mapping, not pooled buffers
	known []cache.Entry
	have  []bool // have[i]: block i's hashes are known[i], and it is read only if it must be sent
	// next is the stripe's following batch, set by the reader before it
	// closes ready (which it also closes when it stops without one): the
	// search (rolling_send.go) reads past a batch's last block in memory.
	next  *pendingBatch
	ready chan struct{}
	// waited is how long the decider waited for the batch's Verdict
	// (readPace).
	waited time.Duration
	// early holds the batch's answers when the decider took them ahead,
	// deciding the batch before (lookAhead).
	early *verdictMsgs
	// unasked is set for a batch announced with Unasked (unasked.go):
	// per block, whether it holds data (false: a hole); bufs stay nil.
	unasked []bool
}

// worker sends one stripe. A reader goroutine reads blocks, hashes them
// and sends WeakBatches, never more than windowBatches ahead; this
// goroutine takes each Verdict, confirms equal-looking blocks with the
// strong hash and sends the blocks that differ. The reader owns (and
// closes) pending.
func (s *sender) worker(ctx context.Context, w int, st *lockedStream) error {
	first, end := s.p.Stripe(w)
	if s.equal { // equal by records (equal.go)
		s.tot.confirmed.Add(end - first)
		if err := s.newSendRoll().finish(st); err != nil { // nothing pieced, but the search's stripe ends too
			return err
		}
		if err := st.Send(&wire.StripeEnd{Confirmed: uint64(end - first)}); err != nil {
			return wrapStream(err)
		}
		return nil
	}
	if s.p.WholeFile {
		return s.wholeStripe(ctx, first, end, st)
	}
	pending := make(chan *pendingBatch, windowBatches)
	pace := newReadPace()
	ua := s.newUnaskedRun()
	readErr := make(chan error, 1)
	sq := startSendQueue(s.sess, st, s.p.BlockSize)
	st.sq = sq // before the reader starts; cleared once both are done
	closeQueue := func() error {
		err := sq.close()
		st.sq = nil
		return err
	}
	go func() {
		defer close(pending)
		err := s.readStripe(ctx, first, end, st, pending, pace, ua)
		if err != nil {
			s.sess.fail(err)
		}
		readErr <- err
	}()
	var sent, confirmed int64
	var dg digest
	defer s.dig.merge(&dg)
	rs := s.newSendRoll()
	defer rs.release()
	if rs != nil {
		rs.pace = pace
	}
	err := func() error {
		strong, err := newStrongHasher(s.p.Strong)
		if err != nil {
			return err
		}
		for b := range pending {
			var n, c int64
			if b.unasked != nil {
				n, err = s.sendUnasked(st, b, strong, &dg, rs)
			} else {
				n, c, err = s.decide(st, b, strong, &dg, rs, ua)
			}
			sent, confirmed = sent+n, confirmed+c
			if err != nil {
				return err
			}
			pace.done(b.waited)
		}
		return rs.finish(st)
	}()
	if err != nil {
		s.sess.fail(err) // stops the reader
		for b := range pending {
			s.release(b)
		}
		<-readErr
		closeQueue()
		return err
	}
	if err := <-readErr; err != nil {
		closeQueue()
		return err
	}
	if err := st.Send(&wire.StripeEnd{Sent: uint64(sent), Confirmed: uint64(confirmed)}); err != nil {
		closeQueue()
		return wrapStream(err)
	}
	return closeQueue()
}

// readStripe reads [first, end) batch by batch.
func (s *sender) readStripe(ctx context.Context, first, end int64, st *lockedStream, pending chan<- *pendingBatch, pace *readPace, ua *unaskedRun) error {
	per := int64(batchBlocks(s.p.BlockSize))
	holes := newHoleScanner(s.src.File)
	bs := int64(s.p.BlockSize)
	if s.cache == nil || s.cache.known == nil { // a hit reads only blocks to send: no read-ahead
		adviseStripe(s.src.File, first*bs, min(end*bs, s.p.Size))
	}
	var prev *pendingBatch // the last batch handed over, whose ready is open
	defer func() {
		if prev != nil {
			close(prev.ready)
		}
	}()
	// handOver gives pb to the decider and links it behind the batch
	// before, for the search (which reads past a batch's last block).
	handOver := func(pb *pendingBatch) error {
		select {
		case pending <- pb:
			if prev != nil {
				prev.next = pb
				close(prev.ready)
			}
			prev = pb
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	for b, n := first, int64(0); b < end; b += n {
		if err := pace.take(ctx); err != nil {
			return err
		}
		n = min(per, end-b)
		unasked, probe := ua.next()
		if probe {
			n = 1
		}
		if unasked {
			// Announced before the decider has the batch: its Data follow
			// at once, with no Verdict to wait for.
			pb := s.readUnasked(b, n, holes)
			if err := st.sendNow(&wire.Unasked{First: uint64(b), Count: uint32(n)}); err != nil {
				return wrapStream(err)
			}
			if err := handOver(pb); err != nil {
				return err
			}
			continue
		}
		weak := make([]uint64, n)
		pb := &pendingBatch{first: b, bufs: make([][]byte, n), weak: weak, ready: make(chan struct{})}
		if pb.known, pb.have = s.cache.lookupKnown(b, int(n)); pb.known == nil {
			pb.view = mapBlocks(s.src.File, s.p, s.opt, s.p.Size, b, n)
		}
		for i := range n {
			if err := ctx.Err(); err != nil {
				s.release(pb)
				return err
			}
			blk := b + i
			ln := s.p.BlockLen(blk)
			if pb.have != nil && pb.have[i] {
				weak[i] = pb.known[i].Weak
				continue
			}
			if holes.hole(blk*int64(s.p.BlockSize), ln) {
				weak[i], _ = s.zero.get(ln)
				continue
			}
			if pb.view != nil {
				buf := pb.view.block(blk, ln)
				err := sysio.Guard(func() { weak[i] = s.weak(buf) })
				if err != nil {
					s.release(pb)
					return guardErr(err, s.src.File, ErrSourceChanged)
				}
				pb.bufs[i] = buf
				continue
			}
			buf, err := s.readBlock(blk)
			if err != nil {
				s.release(pb)
				return err
			}
			pb.bufs[i], weak[i] = buf, s.weak(buf)
		}
		if err := handOver(pb); err != nil {
			s.release(pb)
			return err
		}
		if err := st.sendNow(&wire.WeakBatch{First: uint64(b), Hashes: weak}); err != nil {
			return wrapStream(err)
		}
	}
	return nil
}

func (s *sender) readBlock(i int64) ([]byte, error) {
	buf := getBuf(s.p.BlockSize, s.p.BlockLen(i))
	if err := s.src.readAt(buf, i*int64(s.p.BlockSize), s.p.Size); err != nil {
		putBuf(s.p.BlockSize, buf)
		return nil, err
	}
	return buf, nil
}

// release frees what b still holds: its mapping, or its pooled buffers.
func (s *sender) release(b *pendingBatch) {
	for i, buf := range b.bufs {
		if buf != nil && b.view == nil {
			putBuf(s.p.BlockSize, buf)
		}
		b.bufs[i] = nil
	}
	b.view.close()
	b.view = nil
}
