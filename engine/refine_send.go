package engine

import (
	"github.com/pdiffagent/pdiffagent/sysio"
	"github.com/pdiffagent/pdiffagent/wire"
)

// recvRefine takes the Refine that follows the Verdict v for batch b in a
// session that refines, and returns, per block of b, its sub-block sums
// (nil for a block not refined), and the sub-block size.
func (s *sender) recvRefine(st *lockedStream, b *pendingBatch, v *wire.Verdict) ([]*wire.RefineBlock, int, error) {
	m, err := recvMsg(st)
	if err != nil {
		return nil, 0, err
	}
	ref, ok := m.(*wire.Refine)
	if !ok {
		return nil, 0, protocolErrorf("want Refine for block %d, got %T", b.first, m)
	}
	if int64(ref.First) != b.first || int(ref.SubSize) >= s.p.BlockSize {
		return nil, 0, protocolErrorf("Refine for block %d in sub-blocks of %d, want block %d in sub-blocks smaller than %d",
			ref.First, ref.SubSize, b.first, s.p.BlockSize)
	}
	if len(ref.Blocks) == 0 {
		return nil, 0, nil
	}
	refs := make([]*wire.RefineBlock, len(b.bufs))
	for k := range ref.Blocks {
		rb := &ref.Blocks[k]
		i := int(rb.Index)
		if i >= len(refs) || !v.Need[i] {
			return nil, 0, protocolErrorf("Refine of block %d, not a needed block of batch %d+%d", b.first+int64(i), b.first, len(refs))
		}
		if rb.WeakOnly && !s.p.Caps.Has(wire.CapSubWeak) {
			return nil, 0, protocolErrorf("Refine of block %d by tier-1 hashes alone, without %v", b.first+int64(i), wire.CapSubWeak)
		}
		subs := (s.p.BlockLen(b.first+int64(i)) + int(ref.SubSize) - 1) / int(ref.SubSize)
		if len(rb.Weak) != subs {
			return nil, 0, protocolErrorf("Refine of block %d in %d sub-blocks, want %d", b.first+int64(i), len(rb.Weak), subs)
		}
		refs[i] = rb
	}
	return refs, int(ref.SubSize), nil
}

// subWeaks is the tier-1 hash of each sub-block of sub bytes of buf
// (possibly mapped), computed once per refined block for both the search's
// choice (sendRoll.want) and sendSubs.
func (s *sender) subWeaks(buf []byte, sub int) ([]uint64, error) {
	weak := s.opt.subWeak(s.p.Caps)
	ws := make([]uint64, (len(buf)+sub-1)/sub)
	err := sysio.Guard(func() {
		for j := range ws {
			ws[j] = weak(buf[j*sub : min((j+1)*sub, len(buf))])
		}
	})
	if err != nil {
		return nil, guardErr(err, s.src.File, ErrSourceChanged)
	}
	return ws, nil
}

// subSame compares the sub-blocks of buf (possibly mapped), whose tier-1
// hashes are ws, with the receiver's sums rb: a sub-block is the same when
// both its tier-1 and its tier-2 hashes match.
func (s *sender) subSame(buf []byte, rb *wire.RefineBlock, ws []uint64, sub int, strong *strongHasher) ([]bool, error) {
	same := make([]bool, len(rb.Weak))
	parts, idx := strong.gather() // the sub-blocks whose tier-1 hashes match, hashed together
	for j := range rb.Weak {
		if ws[j] == rb.Weak[j] {
			parts, idx = append(parts, buf[j*sub:min((j+1)*sub, len(buf))]), append(idx, j)
		}
	}
	var sums [][wire.StrongSize]byte
	if err := sysio.Guard(func() { sums = strong.sumGathered(parts, idx) }); err != nil {
		return nil, guardErr(err, s.src.File, ErrSourceChanged)
	}
	for k, j := range idx {
		same[j] = sums[k] == rb.Strong[j]
	}
	return same, nil
}

// sendSubs compares block blk (its bytes buf, possibly mapped) in
// sub-blocks of sub bytes, whose tier-1 hashes are ws, with the receiver's
// sums rb (same, when the caller compared them already: subSame). A
// sub-block whose
// tier-1 and tier-2 hashes both equal the receiver's is confirmed; every
// other one is sent (one whose tier-1 hash alone matched is a collision,
// counted), each run of consecutive ones as one SubData of at most half a
// block (the wire's bound), so that a mostly changed block goes in a few
// messages and writes, not one per sub-block. When no sub-block matched it
// sends nothing and reports whole: the caller sends the block as Data, as
// if it had not been refined. Each sub-block enters the digest as it went.
func (s *sender) sendSubs(st *lockedStream, blk int64, buf []byte, rb *wire.RefineBlock, ws []uint64, same []bool, sub int, strong *strongHasher, dg *digest) (whole bool, err error) {
	n := len(rb.Weak)
	if same == nil {
		if same, err = s.subSame(buf, rb, ws, sub, strong); err != nil {
			return false, err
		}
	}
	var matched, collisions int64
	for j := range n {
		if same[j] {
			matched++
		} else if ws[j] == rb.Weak[j] {
			collisions++
		}
	}
	s.tot.collisions.Add(collisions)
	if matched == 0 {
		return true, nil
	}
	maxRun := max(1, s.p.BlockSize/2/sub)
	var sent int64
	for j := 0; j < n; {
		if same[j] {
			dg.addSubOffered(blk, j*sub, rb.Strong[j])
			j++
			continue
		}
		k := j
		for ; k < n && !same[k] && k-j < maxRun; k++ {
			dg.addSubSent(blk, k*sub, ws[k])
		}
		off, end := j*sub, min(k*sub, len(buf))
		// The message takes a pooled copy: buf stays the batch's.
		out := getBuf(bufClass(s.p.BlockSize, end-off), end-off)
		if err := sysio.Guard(func() { copy(out, buf[off:end]) }); err != nil {
			releaseBuf(s.p.BlockSize, out)
			return false, guardErr(err, s.src.File, ErrSourceChanged)
		}
		sent += int64(k - j)
		if err := s.sendSub(st, blk, off, out); err != nil {
			return false, err
		}
		j = k
	}
	s.tot.subs.Add(sent)
	return false, nil
}

// sendSub sends a run of sub-blocks at off (compressed when that pays; no payload when
// all zeros), handing buf, a pooled buffer, over. In a dry run nothing is
// sent.
func (s *sender) sendSub(st *lockedStream, blk int64, off int, buf []byte) error {
	d := &wire.SubData{Block: uint64(blk), Offset: uint32(off), Codec: wire.CodecNone, RawLen: uint32(len(buf)), Payload: buf}
	if isZero(buf) {
		d.Codec, d.Payload = wire.CodecZero, nil
	} else if s.p.Codec == wire.CodecLZ4 {
		if c, ok := compress(buf); ok {
			d.Codec, d.Payload = wire.CodecLZ4, c
		}
	}
	if d.Codec != wire.CodecNone || s.p.DryRun {
		releaseBuf(s.p.BlockSize, buf)
	}
	if s.p.DryRun {
		return nil
	}
	s.tot.sentBytes.Add(int64(len(d.Payload)))
	if s.opt.Progress != nil {
		s.opt.Progress.Sent.Add(int64(len(d.Payload)))
	}
	return wrapStream(st.Send(d))
}
