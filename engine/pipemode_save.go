package engine

import (
	"context"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/pdiffagent/pdiffagent/sysio"
	"github.com/pdiffagent/pdiffagent/wire"
)

// Save reads a retrieve stream from r and writes its blocks into dst with
// p.Workers goroutines, as Receive would: a whole-file sync resizes a
// regular file to the source's size, a ranged one never shrinks it, and a
// block device must be large enough. It then re-reads and strong-hashes the
// range of dst and compares the digest with the stream's, fsyncs, and
// gives a regular file the source's mode and mtime (unless p.NoPerms,
// p.NoTimes). The grid and the range come from the stream; of p only
// Workers, NoSparse, NoTimes and NoPerms are used.
//
// A stream that stops before its last frame is a *TruncatedError: dst is
// then partly updated, and rerunning the pipeline repairs it.
func Save(ctx context.Context, dst *sysio.File, r io.Reader, p Params, opt Options) (st Stats, err error) {
	start := time.Now()
	cin := &byteCounter{r: r}
	rd := wire.NewReader(cin)
	var bs int
	in := startInput(rd, func(m wire.Message) {
		if h, ok := m.(*wire.RetrieveHeader); ok { // before any Data is read
			bs = int(h.BlockSize)
			rd.SetMaxBlockSize(bs)
			rd.SetAlloc(func(n int) []byte { return getBuf(bs, n) })
		}
	})
	defer in.close()
	m, err := readStart(ctx, in, "retrieve", wire.TypeRetrieveHeader)
	if err != nil {
		return st, err
	}
	h := m.(*wire.RetrieveHeader)
	sp := Params{Session: Session{BlockSize: int(h.BlockSize), Workers: p.Workers, Strong: StrongHash(h.Strong),
		NoSparse: p.NoSparse, NoTimes: p.NoTimes, NoPerms: p.NoPerms}, File: File{Start: h.Start, End: h.End}}
	if sp, err = sp.Bind(h.Size); err != nil {
		return st, err
	}
	rc := &receiver{dst: dst, p: sp, opt: opt, weak: opt.weak(ctx, sp.Caps), noJournal: true, share: opt.recvShare()}
	rc.flush = newFlusher(dst, sp, opt)
	defer rc.flush.stop() // commit reports its error
	// The target's record was invalidated; save writes none.
	defer func() {
		if rc.cache != nil {
			rc.cache.abort()
		}
	}()
	var got int64 // Data blocks received
	var end *wire.RetrieveEnd
	if err = rc.prepare(); err == nil {
		end, got, err = saveBlocks(ctx, rc, in)
	}
	if err == nil {
		err = verifyRange(ctx, rc, end.Digest)
	}
	if err == nil {
		err = rc.commit(&wire.Final{Size: h.Size, ModTime: h.ModTime, Mode: h.Mode})
	}
	st = rc.tot.stats()
	st.BlocksChanged = got
	if end != nil {
		st.BlocksConfirmed, st.WeakCollisions = int64(end.Confirmed), int64(end.Collisions)
	}
	st.finish(sp, time.Since(start).Seconds())
	st.Verified = err == nil
	st.BytesWire = cin.n.Load() // the data stream read
	return st, err
}

// saveBlocks writes the stream's Data with rc.p.Workers writers until its
// RetrieveEnd, which it checks against what arrived. Blocks must come in
// increasing order, within the range.
func saveBlocks(ctx context.Context, rc *receiver, in *pipeInput) (*wire.RetrieveEnd, int64, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	blocks := make(chan *wire.Data, rc.p.Workers) // the loop below owns and closes it
	var wg sync.WaitGroup
	for range rc.p.Workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for d := range blocks {
				if ctx.Err() != nil {
					putBuf(rc.p.BlockSize, d.Payload)
				} else if err := saveBlock(rc, d); err != nil {
					cancel(err)
				}
			}
		}()
	}
	first, last := blockRange(rc.p.Start, rc.p.End, rc.p.BlockSize)
	next, got := first, int64(0) // next: the lowest block number allowed next
	end, err := func() (*wire.RetrieveEnd, error) {
		for {
			m, err := in.next(ctx)
			if err != nil {
				if isCut(err) {
					return nil, &TruncatedError{Stream: "retrieve", Blocks: got, Err: err}
				}
				return nil, err
			}
			switch m := m.(type) {
			case *wire.Data:
				i := int64(m.Block)
				if i < next || i >= last || int(m.RawLen) != rc.p.BlockLen(i) {
					putBuf(rc.p.BlockSize, m.Payload)
					return nil, protocolErrorf("Data for block %d (%d bytes), want a block from %d to %d", i, m.RawLen, next, last-1)
				}
				next, got = i+1, got+1
				rc.tot.sentBytes.Add(int64(len(m.Payload)))
				select {
				case blocks <- m:
				case <-ctx.Done():
					putBuf(rc.p.BlockSize, m.Payload)
					return nil, context.Cause(ctx)
				}
			case *wire.RetrieveEnd:
				if m.Blocks != uint64(last-first) || m.Sent != uint64(got) {
					return nil, fmt.Errorf("%w: the stream ends with %d of %d blocks sent, %d of %d arrived", ErrVerify, m.Sent, m.Blocks, got, last-first)
				}
				return m, nil
			default:
				return nil, protocolErrorf("unexpected %v in the retrieve stream", m.Type())
			}
		}
	}()
	close(blocks)
	wg.Wait()
	if cause := context.Cause(ctx); cause != nil {
		err = cause // a writer's failure (or the caller's cancel) explains the rest
	}
	return end, got, err
}

// saveBlock writes one block, handing its payload buffer back to the pool.
func saveBlock(rc *receiver, d *wire.Data) error {
	bs := rc.p.BlockSize
	i, n := int64(d.Block), int(d.RawLen)
	buf := d.Payload
	defer putBuf(bs, d.Payload)
	switch d.Codec {
	case wire.CodecZero:
		rc.tot.zero.Add(1)
		return rc.writeZero(i, n)
	case wire.CodecLZ4:
		buf = getBuf(bs, n)
		defer putBuf(bs, buf)
		if err := decompress(d.Payload, buf); err != nil {
			return fmt.Errorf("block %d: %w", i, err)
		}
	}
	if _, err := rc.dst.WriteAt(buf, i*int64(bs)); err != nil {
		return fmt.Errorf("write %s: %w", rc.dst.Name(), err)
	}
	rc.countWritten(n)
	return nil
}

// verifyRange re-reads the range of the target, strong-hashing every block
// in parallel, and compares the digest with want.
func verifyRange(ctx context.Context, rc *receiver, want [wire.StrongSize]byte) error {
	p := rc.p
	first, end := blockRange(p.Start, p.End, p.BlockSize)
	br := &blockReader{f: rc.dst, bs: p.BlockSize, stop: p.End, zero: newZeroHashes(rc.weak, p.Strong)}
	work := func(ctx context.Context, s span) ([][wire.StrongSize]byte, error) {
		strong, err := newStrongHasher(p.Strong)
		if err != nil {
			return nil, err
		}
		sums := make([][wire.StrongSize]byte, s.n)
		holes := newHoleScanner(rc.dst)
		var q laneBlocks // blocks read, hashed together
		defer q.drop(p.BlockSize)
		set := func(k int, buf []byte, sum [wire.StrongSize]byte) {
			sums[k] = sum
			putBuf(p.BlockSize, buf)
		}
		for k := range sums {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			buf, n, err := br.read(holes, s.first+int64(k))
			if err != nil {
				return nil, err
			}
			if buf == nil {
				_, sums[k] = br.zero.get(n)
				continue
			}
			if q.add(k, buf, p.BlockSize) {
				q.settle(strong, set)
			}
		}
		q.settle(strong, set)
		return sums, nil
	}
	digest := pipeDigest()
	emit := func(sums [][wire.StrongSize]byte) error {
		for i := range sums {
			digest.Write(sums[i][:])
		}
		return nil
	}
	drop := func([][wire.StrongSize]byte) {}
	if err := ordered(ctx, p.Workers, spans(first, end, spanBlocks(p.BlockSize)), work, emit, drop); err != nil {
		return fmt.Errorf("verify %s: %w", rc.dst.Name(), err)
	}
	var got [wire.StrongSize]byte
	if digest.Sum(got[:0]); got != want {
		return fmt.Errorf("%w: %s differs from the source after the sync (digest mismatch): rerun to repair", ErrVerify, rc.dst.Name())
	}
	return nil
}
