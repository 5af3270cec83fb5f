package engine

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/pdiffagent/pdiffagent/wire"
)

// Byte comparison (Options.CompareLocal). A local sync holds both copies,
// so it can compare their bytes instead of hashing both: exact where the
// two tiers are a probabilistic test made safe, and cheaper, since a memcmp
// costs a fraction of a hash (doc.go has the measurement). It is used only
// where the protocol would read and compare both copies whole anyway and
// nothing else depends on the hashes: no block-hash cache, or --no-cache
// (the hashes would make its records; compared, the sync makes none and
// keeps no journal: an interrupted one compares again), no --bwlimit (which
// caps what the in-memory streams carry), not --whole-file. Each worker
// takes its stripe of blocks, reads the source's and the target's block
// (pread into aligned buffers whatever --read-path says, holes skipped) and
// compares them; a block that differs is written as the protocol would
// write it: whole when more than half of its sub-blocks (Session.MinBlock)
// differ, otherwise the runs of sub-blocks that differ (counted as refined,
// like refinement's SubData); a source block of zeros becomes a hole
// (unless NoSparse). Nothing crosses a stream (bytes_wire 0; bytes_sent is
// the changed bytes, the payload the protocol would have carried). The
// target is committed as the receiver commits it (truncate, fsync, mode,
// mtime, an atomic replacement's rename), after the source's size and mtime
// are checked again (ErrSourceChanged). The search for moved data does not
// run: a block the protocol would have assembled from moved bytes is
// written whole all the same, so the writes are the same.

// testHookCompared, when not nil, is called after each block compared.
var testHookCompared func(block int64)

// compareOK says whether a local sync may compare bytes.
func compareOK(p Params, opt Options) bool {
	return opt.CompareLocal && (opt.Cache == nil || p.NoCache) && opt.Link == nil && !p.WholeFile
}

// compareLocal brings t up to date with source by byte comparison.
func compareLocal(ctx context.Context, source *Source, t *Target, p Params, opt Options) (Stats, error) {
	start := time.Now()
	opt.Cache = nil // no record and no journal: nothing is hashed
	r := &receiver{dst: t.File, tgt: t, p: p, opt: opt, weak: opt.weak(ctx, p.Caps), share: opt.recvShare()}
	if r.dst != nil {
		r.read0 = r.dst.BytesRead()
	}
	read0 := source.File.BytesRead()
	r.flush = newFlusher(r.dst, p, opt)
	defer r.flush.stop()
	err := r.prepare()
	if err == nil {
		err = r.compareStripes(ctx, source)
	}
	if err == nil {
		err = r.compareCommit(ctx, source)
	}
	st := r.tot.stats()
	st.finish(p, time.Since(start).Seconds())
	st.TargetTailKept = r.tailKept
	st.TargetCache, st.TargetRead = r.report()
	st.SourceCache, st.SourceRead = "off", source.File.BytesRead()-read0
	if err != nil {
		st.BlocksChanged = max(st.BlocksChanged, r.tot.landed.Load())
		return st, err
	}
	st.Verified = !p.DryRun && st.BlocksConfirmed+st.BlocksChanged == st.BlocksTotal
	return st, nil
}

// compareStripes runs a worker per stripe; the first error cancels the
// others.
func (r *receiver) compareStripes(ctx context.Context, source *Source) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	errs := make([]error, r.p.Workers)
	for w := range r.p.Workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if errs[w] = r.compareStripe(ctx, source, w); errs[w] != nil {
				cancel()
			}
		}()
	}
	wg.Wait()
	for _, err := range errs { // the cause, not a cancellation it caused
		if err != nil && !errors.Is(err, context.Canceled) {
			return err
		}
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	return ctx.Err()
}

// compareStripe compares and writes worker w's stripe.
func (r *receiver) compareStripe(ctx context.Context, source *Source, w int) error {
	first, end := r.p.Stripe(w)
	if first >= end {
		return nil
	}
	bs := int64(r.p.BlockSize)
	adviseStripe(source.File, first*bs, min(end*bs, r.p.Size))
	if r.dst != nil {
		adviseStripe(r.dst, first*bs, min(end*bs, r.oldSize))
	}
	sb, db := getBuf(r.p.BlockSize, r.p.BlockSize), getBuf(r.p.BlockSize, r.p.BlockSize)
	defer putBuf(r.p.BlockSize, sb)
	defer putBuf(r.p.BlockSize, db)
	srcHoles, dstHoles := newHoleScanner(source.File), newHoleScanner(r.dst)
	for i := first; i < end; i++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := r.compareBlock(ctx, source, i, sb, db, srcHoles, dstHoles); err != nil {
			return err
		}
		if testHookCompared != nil {
			testHookCompared(i)
		}
	}
	return nil
}

// compareBlock compares block i of both copies and writes what differs.
func (r *receiver) compareBlock(ctx context.Context, source *Source, i int64, sb, db []byte, srcHoles, dstHoles *holeScanner) error {
	off, ln := i*int64(r.p.BlockSize), r.p.BlockLen(i)
	s, d := sb[:ln], db[:ln]
	srcZero := srcHoles.hole(off, ln)
	if srcZero {
		clear(s)
	} else {
		if err := r.opt.ReadLimit.Wait(ctx, ln); err != nil {
			return err
		}
		if err := source.readAt(s, off, r.p.Size); err != nil {
			return err
		}
		srcZero = isZero(s)
	}
	if TestHookWeak != nil { // the fault tests hold a sync at its hashing
		r.weak(s)
	}
	if pr := r.opt.Progress; pr != nil {
		pr.Compared.Add(int64(ln))
	}
	if r.dst == nil || off+int64(ln) > r.oldSize { // the target lacks it
		return r.compareWrite(i, s, nil, srcZero)
	}
	if dstHoles.hole(off, ln) {
		if srcZero {
			r.tot.confirmed.Add(1)
			return nil
		}
		return r.compareWrite(i, s, nil, false)
	}
	if err := r.opt.ReadLimit.Wait(ctx, ln); err != nil {
		return err
	}
	if _, err := r.dst.ReadAt(d, off); err != nil {
		return fmt.Errorf("read %s: %w", r.dst.Name(), err)
	}
	if bytes.Equal(s, d) {
		r.tot.confirmed.Add(1)
		return nil
	}
	return r.compareWrite(i, s, d, srcZero)
}

// compareWrite writes block i, whose source bytes are s, over the
// target's bytes d (nil: the target lacks the block or holds a hole
// there): a hole for zeros, the runs of sub-blocks that differ where at
// most half of them do, else the whole block. A dry run only counts.
func (r *receiver) compareWrite(i int64, s, d []byte, zero bool) error {
	r.tot.changed.Add(1)
	if zero {
		r.tot.zero.Add(1)
		if !r.p.DryRun {
			if err := r.writeZero(i, len(s)); err != nil {
				return err
			}
			r.tot.landed.Add(1)
		}
		return nil
	}
	off := i * int64(r.p.BlockSize)
	sub := r.p.MinBlock
	if d != nil && sub < len(s) {
		runs, n := diffRuns(s, d, sub)
		if 2*n <= (len(s)+sub-1)/sub {
			return r.compareWriteRuns(off, s, runs, n)
		}
	}
	r.sent(len(s))
	if r.p.DryRun {
		return nil
	}
	if err := r.cache.beforeWrite(); err != nil {
		return err
	}
	if err := r.writeData([][]byte{s}, off); err != nil {
		return fmt.Errorf("write %s: %w", r.dst.Name(), err)
	}
	r.countWritten(len(s))
	r.tot.landed.Add(1)
	return nil
}

// compareWriteRuns writes the runs [a, b) of s at off, n sub-blocks in all.
func (r *receiver) compareWriteRuns(off int64, s []byte, runs [][2]int, n int) error {
	r.tot.refined.Add(1)
	r.tot.subs.Add(int64(n))
	for _, run := range runs {
		b := s[run[0]:run[1]]
		r.sent(len(b))
		if r.p.DryRun {
			continue
		}
		if err := r.writeBuffered(b, off+int64(run[0])); err != nil {
			return err
		}
	}
	if !r.p.DryRun {
		r.tot.landed.Add(1)
	}
	return nil
}

// sent counts n bytes of payload, what the protocol would have sent.
func (r *receiver) sent(n int) {
	r.tot.sentBytes.Add(int64(n))
	if pr := r.opt.Progress; pr != nil {
		pr.Sent.Add(int64(n))
	}
}

// diffRuns cuts s and d (of one length) into sub-blocks of sub bytes and
// returns the runs of consecutive ones that differ, as byte ranges, and
// how many differ.
func diffRuns(s, d []byte, sub int) (runs [][2]int, n int) {
	for a := 0; a < len(s); a += sub {
		b := min(a+sub, len(s))
		if bytes.Equal(s[a:b], d[a:b]) {
			continue
		}
		n++
		if k := len(runs) - 1; k >= 0 && runs[k][1] == a {
			runs[k][1] = b
		} else {
			runs = append(runs, [2]int{a, b})
		}
	}
	return runs, n
}

// compareCommit checks that the source held still and commits the target
// as the receiver does at the end of a session.
func (r *receiver) compareCommit(ctx context.Context, source *Source) error {
	size, mtime, mode, err := source.recheck(false)
	if err != nil {
		return err
	}
	if r.p.DryRun {
		return nil
	}
	final := &wire.Final{Size: size, ModTime: mtime, Mode: uint32(mode), Uid: source.Uid, Gid: source.Gid}
	if err := r.commit(final); err != nil {
		return err
	}
	if err := r.tgt.Commit(); err != nil {
		return err
	}
	if TestHookCommitted != nil {
		TestHookCommitted(ctx)
	}
	return nil
}
