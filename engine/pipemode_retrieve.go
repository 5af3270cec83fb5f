package engine

import (
	"bufio"
	"context"
	"fmt"
	"hash"
	"io"
	"time"

	"github.com/pdiffagent/pdiffagent/wire"
)

// Retrieve reads a checksum stream from r, compares it with src and writes
// the retrieve stream to w: the source's size, time and mode, the blocks of
// the range that differ, in order, and the end-to-end digest. The block
// size, strong hash and range come from the checksum stream; p.Workers
// goroutines read and hash src, and p.Codec compresses the blocks sent
// (kept only when smaller). Other fields of p are ignored. On failure the
// stream ends with a wire.Error saying why; a checksum stream that just
// stops is a *TruncatedError.
func Retrieve(ctx context.Context, src *Source, r io.Reader, w io.Writer, p Params, opt Options) (st Stats, err error) {
	start := time.Now()
	cin, cout := &byteCounter{r: r}, &byteCounter{w: w}
	r, w = cin, cout
	bw := bufio.NewWriterSize(w, pipeWriteBuf)
	defer func() {
		if err != nil {
			writeFailure(bw, err)
		}
	}()
	in := startInput(wire.NewReader(r), nil)
	defer in.close()
	m, err := readStart(ctx, in, "checksum", wire.TypeChecksumHeader)
	if err != nil {
		return st, err
	}
	h := m.(*wire.ChecksumHeader)
	if h.Start > src.Size || h.End > src.Size {
		return st, fmt.Errorf("range [%d, %d) lies beyond the end of %s (%d bytes)", h.Start, h.End, src.File.Name(), src.Size)
	}
	sp := Params{Session: Session{BlockSize: int(h.BlockSize), Workers: p.Workers, Strong: StrongHash(h.Strong), Codec: p.Codec},
		File: File{Start: h.Start, End: h.End}}
	if sp, err = sp.Bind(src.Size); err != nil {
		return st, err
	}
	rt := &retriever{src: src, p: sp, opt: opt, in: in, weak: opt.weak(ctx, sp.Caps), digest: pipeDigest()}
	rt.zero = newZeroHashes(rt.weak, sp.Strong)
	rt.first, rt.end = blockRange(sp.Start, sp.End, sp.BlockSize)
	// The target's blocks that checksum hashed: [first, tEnd), ending at tStop.
	rt.tStop = h.Size
	if h.End != 0 && h.End < rt.tStop {
		rt.tStop = h.End
	}
	_, rt.tEnd = blockRange(sp.Start, rt.tStop, sp.BlockSize)
	rt.next, rt.hashed = rt.first, rt.first
	hdr := &wire.RetrieveHeader{Size: src.Size, ModTime: src.ModTime, Mode: uint32(src.Mode), BlockSize: h.BlockSize,
		Strong: h.Strong, Start: sp.Start, End: sp.End}
	if err := writeFrames(bw, wire.NewHello(), hdr); err != nil {
		return st, err
	}
	br := &blockReader{f: src.File, bs: sp.BlockSize, stop: sp.Size, zero: rt.zero,
		changed: fmt.Errorf("%w: %s: shorter than %d bytes", ErrSourceChanged, src.File.Name(), src.Size)}
	emit := func(o *retrieveOut) error { return rt.emit(bw, o) }
	err = ordered(ctx, sp.Workers, rt.nextJob, func(ctx context.Context, j retrieveJob) (*retrieveOut, error) {
		return rt.work(ctx, br, j)
	}, emit, rt.drop)
	if err == nil {
		err = src.checkUnchanged()
	}
	st = rt.tot.stats()
	st.finish(sp, time.Since(start).Seconds())
	if err != nil {
		return st, err
	}
	end := &wire.RetrieveEnd{Blocks: uint64(sp.Blocks()), Sent: uint64(st.BlocksChanged), Confirmed: uint64(st.BlocksConfirmed),
		Collisions: uint64(st.WeakCollisions), Bytes: uint64(st.BytesSent)}
	rt.digest.Sum(end.Digest[:0])
	if err := writeFrames(bw, end); err != nil {
		return st, err
	}
	err = bw.Flush()
	st.BytesWire = cin.n.Load() + cout.n.Load() // the checksum stream read, the data stream written
	return st, err
}

// retriever is Retrieve's state. The dispatcher of ordered owns next,
// hashed and ended; workers share only read-only fields; emit owns digest.
type retriever struct {
	src    *Source
	p      Params
	opt    Options
	in     *pipeInput
	weak   WeakFunc
	zero   *zeroHashes
	digest hash.Hash
	tot    counters

	first, end  int64 // the source's blocks in the range
	tStop, tEnd int64 // the target's hashed bytes end at tStop, its blocks at tEnd
	next        int64 // first source block not yet handed out
	hashed      int64 // first target block whose hashes have not arrived
	ended       bool  // ChecksumEnd has arrived
}

// retrieveJob is a span of source blocks and, when the target has them,
// the target's hashes of the same blocks.
type retrieveJob struct {
	span
	sums []wire.BlockSum // len 0 or n
}

// retrieveOut is what a job yields: every block's strong hash (for the
// digest) and the blocks to send.
type retrieveOut struct {
	strong                      [][wire.StrongSize]byte
	data                        []*wire.Data
	confirmed, collisions, zero int64
	bytes                       int64 // source bytes compared
}

// nextJob turns the checksum stream into jobs: each HashBatch, clipped to
// the source, then the source's blocks that the target lacks.
func (rt *retriever) nextJob(ctx context.Context) (retrieveJob, bool, error) {
	for !rt.ended {
		m, err := rt.in.next(ctx)
		if err != nil {
			if isCut(err) {
				return retrieveJob{}, false, &TruncatedError{Stream: "checksum", Blocks: rt.hashed - rt.first, Err: err}
			}
			return retrieveJob{}, false, err
		}
		switch m := m.(type) {
		case *wire.HashBatch:
			first, n := int64(m.First), int64(len(m.Sums))
			if first != rt.hashed || n == 0 || first+n > rt.tEnd {
				return retrieveJob{}, false, protocolErrorf("hashes of blocks %d+%d, want some from %d up to %d", first, n, rt.hashed, rt.tEnd)
			}
			rt.hashed += n
			if k := min(n, rt.end-first); k > 0 {
				rt.next = first + k
				return retrieveJob{span: span{first: first, n: int(k)}, sums: m.Sums[:k]}, true, nil
			}
		case *wire.ChecksumEnd:
			if rt.hashed != rt.tEnd || m.Blocks != uint64(rt.tEnd-rt.first) {
				return retrieveJob{}, false, protocolErrorf("checksum ended after %d hashes (says %d), want %d", rt.hashed-rt.first, m.Blocks, rt.tEnd-rt.first)
			}
			rt.ended = true
		default:
			return retrieveJob{}, false, protocolErrorf("unexpected %v in the checksum stream", m.Type())
		}
	}
	if rt.next >= rt.end {
		return retrieveJob{}, false, nil
	}
	s := span{first: rt.next, n: int(min(int64(spanBlocks(rt.p.BlockSize)), rt.end-rt.next))}
	rt.next += int64(s.n)
	return retrieveJob{span: s}, true, nil
}

// work compares one span of the source with the target's hashes.
func (rt *retriever) work(ctx context.Context, br *blockReader, j retrieveJob) (*retrieveOut, error) {
	strong, err := newStrongHasher(rt.p.Strong)
	if err != nil {
		return nil, err
	}
	out := &retrieveOut{strong: make([][wire.StrongSize]byte, j.n)}
	holes := newHoleScanner(rt.src.File)
	bs := int64(rt.p.BlockSize)
	// The blocks read are tier-2 hashed together (laneBlocks) and then
	// decided in order: a zero block, decided at once, first settles the
	// ones before it, so that out.data stays in block order.
	var q laneBlocks
	defer q.drop(rt.p.BlockSize)
	weaks, ns := make([]uint64, j.n), make([]int, j.n)
	decide := func(k int, buf []byte, sum [wire.StrongSize]byte) {
		i, n := j.first+int64(k), ns[k]
		out.strong[k] = sum // for the digest, if not for the comparison
		// The target has this block, of the same length: compare.
		have := len(j.sums) > 0 && min(bs, rt.tStop-i*bs) == int64(n)
		if have && weaks[k] == j.sums[k].Weak {
			if out.strong[k] == j.sums[k].Strong {
				out.confirmed++
				putBuf(rt.p.BlockSize, buf)
				return
			}
			out.collisions++
		}
		out.data = append(out.data, rt.block(i, n, buf, out))
	}
	for k := range j.n {
		if err := ctx.Err(); err != nil {
			rt.drop(out)
			return nil, err
		}
		i := j.first + int64(k)
		buf, n, err := br.read(holes, i)
		if err != nil {
			rt.drop(out)
			return nil, err
		}
		out.bytes += int64(n)
		ns[k] = n
		if buf == nil {
			q.settle(strong, decide)
			weaks[k], out.strong[k] = rt.zero.get(n)
			decide(k, nil, out.strong[k])
			continue
		}
		if len(j.sums) > 0 && min(bs, rt.tStop-i*bs) == int64(n) { // compared: see decide
			weaks[k] = rt.weak(buf)
		}
		if q.add(k, buf, rt.p.BlockSize) {
			q.settle(strong, decide)
		}
	}
	q.settle(strong, decide)
	return out, nil
}

// block makes the Data for block i: no payload for zeros, lz4 when asked
// and it shrinks the block, else buf itself (a pool buffer).
func (rt *retriever) block(i int64, n int, buf []byte, out *retrieveOut) *wire.Data {
	d := &wire.Data{Block: uint64(i), Codec: wire.CodecNone, RawLen: uint32(n), Payload: buf}
	if buf == nil || isZero(buf) {
		putBuf(rt.p.BlockSize, buf)
		out.zero++
		d.Codec, d.Payload = wire.CodecZero, nil
	} else if rt.p.Codec == wire.CodecLZ4 {
		if c, ok := compress(buf); ok {
			putBuf(rt.p.BlockSize, buf)
			d.Codec, d.Payload = wire.CodecLZ4, c
		}
	}
	return d
}

// emit writes one job's blocks and adds its hashes to the digest.
func (rt *retriever) emit(bw *bufio.Writer, o *retrieveOut) error {
	defer rt.drop(o)
	for i := range o.strong {
		rt.digest.Write(o.strong[i][:])
	}
	var sent int64
	for _, d := range o.data {
		if err := wire.WriteFrame(bw, d); err != nil {
			return err
		}
		sent += int64(len(d.Payload))
	}
	rt.tot.changed.Add(int64(len(o.data)))
	rt.tot.confirmed.Add(o.confirmed)
	rt.tot.collisions.Add(o.collisions)
	rt.tot.zero.Add(o.zero)
	rt.tot.sentBytes.Add(sent)
	if p := rt.opt.Progress; p != nil {
		p.Compared.Add(o.bytes)
		p.Sent.Add(sent)
	}
	return nil
}

// drop returns the uncompressed payloads of o to their pool.
func (rt *retriever) drop(o *retrieveOut) {
	for _, d := range o.data {
		if d.Codec == wire.CodecNone {
			putBuf(rt.p.BlockSize, d.Payload)
		}
		d.Payload = nil
	}
	o.data = nil
}

// checkUnchanged refuses a source whose size or mtime moved since
// NewSource. (The sender's finish makes the same check, inline.)
func (s *Source) checkUnchanged() error {
	size, mtime, _, err := s.File.Stat()
	if err != nil {
		return err
	}
	if size != s.Size || mtime != s.ModTime {
		return fmt.Errorf("%w: %s: size %d -> %d, mtime %s -> %s", ErrSourceChanged, s.File.Name(), s.Size, size,
			time.Unix(0, s.ModTime).Format(time.RFC3339Nano), time.Unix(0, mtime).Format(time.RFC3339Nano))
	}
	return nil
}
