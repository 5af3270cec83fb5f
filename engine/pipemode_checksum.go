package engine

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/pdiffagent/pdiffagent/engine/cache"
	"github.com/pdiffagent/pdiffagent/sysio"
	"github.com/pdiffagent/pdiffagent/wire"
)

// Checksum writes the checksum stream of dst to w: the target's size, then
// the weak and strong hash of each of its blocks in [p.Start, p.End) (End
// 0: to the end of the file), read and hashed by p.Workers goroutines. dst
// nil means the target does not exist: the stream then holds no hashes.
// p.BlockSize, p.Strong and the range are decided here, for the whole
// pipeline; p.Size is ignored. On failure the stream ends with a wire.Error
// saying why.
func Checksum(ctx context.Context, dst *sysio.File, p Params, w io.Writer, opt Options) (err error) {
	bw := bufio.NewWriterSize(w, pipeWriteBuf)
	defer func() {
		if err != nil {
			writeFailure(bw, err)
		}
	}()
	if p, err = pipeParams(p); err != nil {
		return err
	}
	var size int64
	if dst != nil {
		if size, err = dst.Size(); err != nil {
			return fmt.Errorf("size of %s: %w", dst.Name(), err)
		}
	}
	stop := size
	if p.End != 0 && p.End < stop {
		stop = p.End
	}
	first, end := blockRange(p.Start, stop, p.BlockSize)
	hdr := &wire.ChecksumHeader{BlockSize: uint32(p.BlockSize), Strong: uint8(p.Strong), Start: p.Start, End: p.End, Size: size}
	if err := writeFrames(bw, wire.NewHello(), hdr); err != nil {
		return err
	}
	br := &blockReader{f: dst, bs: p.BlockSize, stop: stop, zero: newZeroHashes(opt.weak(ctx, p.Caps), p.Strong)}
	weak := opt.weak(ctx, p.Caps)
	// A target whose record is valid gives its hashes without a read; one
	// hashed whole here gets a record (the same as a receiver's).
	cp := p
	cp.Size, cp.Start, cp.End = size, 0, size
	fc := lookupCache(opt.Cache, dst, nil, cp, false)
	if p.Start == 0 && stop == size && dst != nil && !dst.IsDevice() {
		// Not a device: save writes it at the same time, and a device's
		// identity would not show that. Every block is tier-2 hashed
		// here anyway, so even --no-cache keeps the fresh record (unlike
		// a sync's, whose record would cost hashes of its own).
		rc := cp
		rc.NoCache = false
		fc.startSourceRecord(rc)
	}
	defer func() {
		if err != nil {
			fc.abort()
		} else {
			fc.commit()
		}
	}()
	work := func(ctx context.Context, s span) (*wire.HashBatch, error) {
		strong, err := newStrongHasher(p.Strong)
		if err != nil {
			return nil, err
		}
		hb := &wire.HashBatch{First: uint64(s.first), Sums: make([]wire.BlockSum, s.n)}
		holes := newHoleScanner(dst)
		known, have := fc.lookupKnown(s.first, int(s.n))
		var q laneBlocks // blocks read, hashed together
		defer q.drop(p.BlockSize)
		set := func(k int, buf []byte, sum [wire.StrongSize]byte) {
			hb.Sums[k].Strong = sum
			putBuf(p.BlockSize, buf)
		}
		for k := range hb.Sums {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			i := s.first + int64(k)
			if have != nil && have[k] && known[k].HasStrong() { // else read: the stream needs real tier-2 hashes
				hb.Sums[k] = wire.BlockSum{Weak: known[k].Weak, Strong: known[k].Strong}
				continue
			}
			buf, n, err := br.read(holes, i)
			if err != nil {
				return nil, err
			}
			if buf == nil {
				hb.Sums[k].Weak, hb.Sums[k].Strong = br.zero.get(n)
			} else {
				hb.Sums[k].Weak = weak(buf)
				if q.add(k, buf, p.BlockSize) {
					q.settle(strong, set)
				}
			}
			if opt.Progress != nil {
				opt.Progress.Compared.Add(int64(n))
			}
		}
		q.settle(strong, set)
		if fc.recording() {
			es := make([]cache.Entry, len(hb.Sums))
			for k, sum := range hb.Sums {
				es[k] = cache.Entry{Weak: sum.Weak, Strong: sum.Strong}
			}
			fc.put(s.first, es)
		}
		return hb, nil
	}
	emit := func(hb *wire.HashBatch) error { return wire.WriteFrame(bw, hb) }
	err = ordered(ctx, p.Workers, spans(first, end, spanBlocks(p.BlockSize)), work, emit, func(*wire.HashBatch) {})
	if err != nil {
		return err
	}
	if err := writeFrames(bw, &wire.ChecksumEnd{Blocks: uint64(end - first)}); err != nil {
		return err
	}
	return bw.Flush()
}

// blockReader reads the blocks of one file that lie before stop.
type blockReader struct {
	f    *sysio.File
	bs   int
	stop int64 // the file's size, or the end of the range if sooner
	zero *zeroHashes
	// changed is the error for a file that turns out shorter than stop.
	changed error
}

// read returns block i and its length: in a pool buffer (the caller puts
// it back), or nil when holes says that it lies in a hole and so is all
// zeros. A file shorter than stop is an error.
func (b *blockReader) read(holes *holeScanner, i int64) ([]byte, int, error) {
	off := i * int64(b.bs)
	n := int(min(int64(b.bs), b.stop-off))
	if holes.hole(off, n) {
		return nil, n, nil
	}
	buf := getBuf(b.bs, n)
	if _, err := b.f.ReadAt(buf, off); err != nil {
		putBuf(b.bs, buf)
		if errors.Is(err, io.EOF) {
			if b.changed != nil {
				return nil, 0, b.changed
			}
			return nil, 0, fmt.Errorf("%s changed during the sync: shorter than %d bytes", b.f.Name(), b.stop)
		}
		return nil, 0, fmt.Errorf("read %s: %w", b.f.Name(), err)
	}
	return buf, n, nil
}
