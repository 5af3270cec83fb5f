package engine

import (
	"context"

	"github.com/pdiffagent/pdiffagent/wire"
)

// wholeStripe sends every block of [first, end) without hashing.
func (s *sender) wholeStripe(ctx context.Context, first, end int64, st *lockedStream) error {
	holes := newHoleScanner(s.src.File)
	var dg digest
	defer s.dig.merge(&dg)
	for i := first; i < end; i++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		var buf []byte // nil: a hole
		n := s.p.BlockLen(i)
		if holes.hole(i*int64(s.p.BlockSize), n) {
			w, _ := s.zero.get(n)
			dg.addSent(i, w)
		} else {
			var err error
			if buf, err = s.readBlock(i); err != nil {
				return err
			}
			dg.addSent(i, s.weak(buf))
		}
		if s.opt.Progress != nil {
			s.opt.Progress.Compared.Add(int64(s.p.BlockLen(i)))
		}
		if err := s.sendBlock(st, i, buf); err != nil {
			return err
		}
	}
	n := end - first
	s.tot.changed.Add(n)
	if err := st.Send(&wire.StripeEnd{Sent: uint64(n)}); err != nil {
		return wrapStream(err)
	}
	return nil
}

// sendBlock sends block i (compressed when that pays), handing buf over.
// A block that is all zeros (buf nil: a hole) goes without payload. In a
// dry run nothing is sent.
func (s *sender) sendBlock(st *lockedStream, i int64, buf []byte) error {
	if buf == nil || isZero(buf) {
		putBuf(s.p.BlockSize, buf)
		s.tot.zero.Add(1)
		if s.p.DryRun {
			return nil
		}
		return wrapStream(st.Send(&wire.Data{Block: uint64(i), Codec: wire.CodecZero, RawLen: uint32(s.p.BlockLen(i))}))
	}
	if s.p.DryRun {
		putBuf(s.p.BlockSize, buf)
		return nil
	}
	d := &wire.Data{Block: uint64(i), Codec: wire.CodecNone, RawLen: uint32(len(buf)), Payload: buf}
	if s.p.Codec == wire.CodecLZ4 {
		if c, ok := compress(buf); ok {
			putBuf(s.p.BlockSize, buf)
			d.Codec, d.Payload = wire.CodecLZ4, c
		}
	}
	s.tot.sentBytes.Add(int64(len(d.Payload)))
	if s.opt.Progress != nil {
		s.opt.Progress.Sent.Add(int64(len(d.Payload)))
	}
	return wrapStream(st.Send(d))
}
