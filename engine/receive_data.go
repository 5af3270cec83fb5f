package engine

import (
	"fmt"

	"github.com/pdiffagent/pdiffagent/wire"
)

// A receiver's Data: checked against its stripe and handed to the writer.

// writeBlock checks a Data message against the stripe and hands it to the
// worker's writer (bw is nil only in a dry run, which takes no Data).
func (r *receiver) writeBlock(ss *stripeState, bw *blockWriter, d *wire.Data) error {
	i := int64(d.Block)
	if r.p.DryRun || i < ss.first || i >= ss.decided.Load() {
		return protocolErrorf("Data for block %d outside the decided part of stripe [%d,%d)", i, ss.first, ss.end)
	}
	if !ss.roll.takeRefused(i) { // a refused block comes again out of order
		if i < ss.received {
			return protocolErrorf("Data for block %d again, or out of order (after block %d): each block is sent once, in order", i, ss.received-1)
		}
		if err := r.takeData(ss, bw, i); err != nil {
			return err
		}
		ss.received = i + 1
		ss.roll.cameWhole(int(d.RawLen))
	}
	n := r.p.BlockLen(i)
	if int(d.RawLen) != n {
		return protocolErrorf("Data for block %d holds %d bytes, want %d", i, d.RawLen, n)
	}
	if err := ss.roll.beforeWrite(i); err != nil {
		return err
	}
	if d.Codec == wire.CodecZero {
		r.tot.zero.Add(1)
		bw.writeZeros(i, n)
		return nil
	}
	buf, err := r.unpack(d.Type(), i, 0, d.Codec, d.Payload, n)
	if err != nil {
		return err
	}
	r.tot.sentBytes.Add(int64(len(d.Payload)))
	bw.write(i, buf[:n])
	return nil
}

// unpack returns the n bytes that a Data or SubData (t) for block i (at
// off) carries with a payload: payload itself, or a pooled buffer it was
// decompressed into (payload then goes back to the pool).
func (r *receiver) unpack(t wire.Type, i int64, off int, codec wire.Codec, payload []byte, n int) ([]byte, error) {
	what := func() string { return fmt.Sprintf("%v for block %d at offset %d", t, i, off) }
	switch codec {
	case wire.CodecNone:
		if len(payload) != n {
			return nil, protocolErrorf("%s carries %d bytes, want %d", what(), len(payload), n)
		}
		return payload, nil
	case wire.CodecLZ4:
		buf := getBuf(bufClass(r.p.BlockSize, n), n)
		err := decompress(payload, buf)
		releaseBuf(r.p.BlockSize, payload)
		if err != nil {
			releaseBuf(r.p.BlockSize, buf)
			return nil, fmt.Errorf("%s: %w", what(), err)
		}
		return buf, nil
	}
	return nil, protocolErrorf("%s: unknown codec %d", what(), codec)
}
