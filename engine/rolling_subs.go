package engine

import (
	"cmp"
	"slices"

	"github.com/pdiffagent/pdiffagent/wire"
)

// Sub-block recovery: the literals a search leaves in a refined block,
// found again by sub-block.
//
// A copy is found by a whole old block's tier-1 hash, so a small edit
// inside data that moved hides the whole old block it falls in: after an
// insertion of d bytes in block k (its data shifted by s from earlier
// edits), old block k no longer matches anywhere, and everything from its
// start to old block k+1's start (about a block) went as a literal. 100
// insertions of 100 bytes into 1 GiB sent 95.7 MiB (rsync, with ~32 KiB
// blocks, 3.5 MiB). But the receiver refines every needed block it
// compares: block k's Refine holds the tier-1 sums of old block k's
// sub-blocks, and the sender keeps the previous block's too. A literal
// sits between pieces whose shifts are known: the copy before it (old
// block k's sub-blocks before the edit lie at its shift), the copy after
// it, the block's own place, and, for a literal that ends the block, old
// block k+1's anchor looked for within subShiftReach of where the shift
// before puts it (the shift after the edit). Each old sub-block that
// lands inside the literal at one of those shifts is hashed there (tier
// 1, the refinement's hash) and, when it matches, sent as a CopyFrom of
// its old bytes instead; the receiver confirms every copy by its strong
// hash as any other (a collision is refused and the block sent whole), so
// the guarantee is the search's. A match past the block's end carries
// into the next block as the search's copies do. No wire change: the
// sums were already sent.
const (
	subShiftReach = 64 << 10
	// subProbes is the most shifts probeGap looks for in one literal, and
	// subProbeReach how far from the last known one (bytes inserted or
	// deleted): at most 2·subProbeReach tier-1 hashes of a sub-block each.
	subProbes     = 2
	subProbeReach = 4 << 10
)

// subRef is the receiver's refinement of old block blk: its sub-blocks of
// sub bytes (Refine).
type subRef struct {
	blk int64
	ref *wire.RefineBlock
	sub int
}

// subMatch is a stretch of the block found as an old sub-block's bytes.
type subMatch struct {
	off, n int
	src    int64
}

// recoverSubs looks for the sub-blocks of the refined old blocks refs in
// the literals of res (block blk of n bytes, whose bytes and the next
// block's are in rs.span) and turns what it finds into copies.
func (rs *sendRoll) recoverSubs(blk int64, n int, res *searchResult, refs []subRef) {
	if len(refs) == 0 {
		return
	}
	weak := rs.s.opt.subWeak(rs.s.p.Caps)
	_, next := rs.idx.anchorOf(blk + 1) // where a literal that ends the block went (nextShift)
	out := make([]piece, 0, len(res.pieces)+4)
	for k, pc := range res.pieces {
		if pc.src >= 0 {
			out = append(out, pc)
			continue
		}
		a, b := pc.off, pc.off+pc.n
		shifts := []int{0}
		after := k > 0 && res.pieces[k-1].src >= 0 // a copy before the literal
		base := 0                                  // its shift
		if after {
			base = rs.shiftOf(blk, res.pieces[k-1])
			shifts = append(shifts, base)
		} else if k == 0 && rs.lastShiftAt == blk {
			shifts = append(shifts, rs.lastShift) // the previous block's last copy
		}
		if k+1 < len(res.pieces) && res.pieces[k+1].src >= 0 {
			shifts = append(shifts, rs.shiftOf(blk, res.pieces[k+1]))
		}
		trailing := b == n && res.carry.n == 0
		if trailing && next {
			if sh, ok := rs.nextShift(blk, a, n, shifts[len(shifts)-1], &res.work); ok {
				shifts = append(shifts, sh)
			}
		}
		ms := rs.subMatches(blk, a, b, shifts, refs, weak, &res.work)
		if after || len(ms) > 0 {
			// a copy follows the literal, or it ends a stripe (no next
			// old block's anchor tells where the data went)
			closed := k+1 < len(res.pieces) || trailing && !next
			for range subProbes {
				sh, found := rs.probeGap(blk, a, b, trailing, closed, base, ms, refs, weak, &res.work)
				if !found {
					break
				}
				shifts = append(shifts, sh)
				ms = rs.subMatches(blk, a, b, shifts, refs, weak, &res.work)
			}
		}
		at := a
		for _, m := range ms {
			if m.off > at {
				out = append(out, piece{off: at, n: m.off - at, src: -1})
			}
			in := min(m.n, b-m.off)
			out = append(out, piece{off: m.off, n: in, src: m.src})
			res.copied += in
			if in < m.n && trailing {
				res.carry = piece{off: 0, n: m.n - in, src: m.src + int64(in)}
			}
			at = m.off + in
		}
		if at < b {
			out = append(out, piece{off: at, n: b - at, src: -1})
		}
	}
	res.pieces = out
}

// probeGap looks for the shift of the data in the first stretch of [a, b)
// that ms leaves (after the last match before it, whose shift it starts
// from, or from base) that is long enough to hold a sub-block beyond the
// one an edit broke, and that old data follows (a match, or a copy after
// the literal when closed): one old sub-block there is hashed at each
// shift within subProbeReach, nearest first. Two edits in one block left
// the data between them as a literal. New data ends in no match, so a
// block rewritten after moved data is not probed (up to 16,384 hashes).
func (rs *sendRoll) probeGap(blk int64, a, b int, trailing, closed bool, base int, ms []subMatch, refs []subRef, weak WeakFunc, work *int64) (int, bool) {
	bs := rs.s.p.BlockSize
	limit := b
	if trailing {
		limit = len(rs.span)
	}
	at, sh := a, base
	for i := 0; i <= len(ms); i++ {
		end := b
		if i < len(ms) {
			end = ms[i].off
		}
		if end-at >= 2*refs[0].sub && (i < len(ms) || closed) {
			break
		}
		if i == len(ms) {
			return 0, false
		}
		at, sh = ms[i].off+ms[i].n, rs.shiftOf(blk, piece{off: ms[i].off, src: ms[i].src})
	}
	for _, sr := range refs {
		on, ok := rs.idx.lenOf(sr.blk)
		if !ok {
			continue
		}
		rel := int(sr.blk-blk) * bs
		// the first sub-block that lies wholly past the one the edit broke
		j := (at + sr.sub - rel - sh + sr.sub - 1) / sr.sub
		if j < 0 || (j+1)*sr.sub > on || j >= len(sr.ref.Weak) {
			continue
		}
		p0 := rel + j*sr.sub + sh
		for d := 1; d <= subProbeReach; d++ {
			for _, p := range [2]int{p0 + d, p0 - d} {
				if p < at || p+sr.sub > limit {
					continue
				}
				*work += int64(sr.sub) / rollVerifyWeight
				if weak(rs.span[p:p+sr.sub]) == sr.ref.Weak[j] {
					return p - rel - j*sr.sub, true
				}
			}
		}
	}
	return 0, false
}

// shiftOf is where a copy puts its source relative to its old place:
// bytes of old block blk+j at offset o lie at o + j·bs + shift in block
// blk.
func (rs *sendRoll) shiftOf(blk int64, pc piece) int {
	return pc.off - int(pc.src-blk*int64(rs.s.p.BlockSize))
}

// nextShift looks for old block blk+1's anchor in span from a on, within
// subShiftReach of where shift puts it (bs+shift): the shift after an
// edit in the literal that ends block blk.
func (rs *sendRoll) nextShift(blk int64, a, n, shift int, work *int64) (int, bool) {
	anchor, ok := rs.idx.anchorOf(blk + 1)
	if !ok {
		return 0, false
	}
	r, bs := rs.idx.r, rs.s.p.BlockSize
	lo := max(a, bs+shift-subShiftReach)
	hi := min(len(rs.span)-r.w, bs+shift+subShiftReach)
	if lo > hi || n != bs || lo < 0 {
		return 0, false
	}
	h := r.sumRaw(rs.span[lo:])
	*work += int64(r.w + hi - lo)
	for o := lo; ; o++ {
		if r.hook(h) == anchor && h != r.zero {
			return o - bs, true
		}
		if o == hi {
			return 0, false
		}
		h = r.roll(h, rs.span[o], rs.span[o+r.w])
	}
}

// subMatches returns, in order and not overlapping, the stretches of
// [a, b) (and past b when b ends the block) that hold an old sub-block of
// refs at one of the shifts, by its tier-1 hash. Only whole sub-blocks of
// offered old blocks count.
func (rs *sendRoll) subMatches(blk int64, a, b int, shifts []int, refs []subRef, weak WeakFunc, work *int64) []subMatch {
	bs := rs.s.p.BlockSize
	slices.Sort(shifts)
	shifts = slices.Compact(shifts)
	var ms []subMatch
	for _, sr := range refs {
		on, ok := rs.idx.lenOf(sr.blk)
		if !ok || sr.sub <= 0 {
			continue
		}
		base := int(sr.blk-blk) * bs // old block sr.blk's start in this block's terms, before the shift
		for _, sh := range shifts {
			for i := range sr.ref.Weak {
				o := i * sr.sub
				if o+sr.sub > on {
					break
				}
				p := base + o + sh
				if p+sr.sub <= a || p >= b || p < 0 || p+sr.sub > len(rs.span) {
					continue
				}
				*work += int64(sr.sub) / rollVerifyWeight
				if weak(rs.span[p:p+sr.sub]) != sr.ref.Weak[i] {
					continue
				}
				from := max(p, a) // a sub-block that begins in the piece before: its rest
				ms = append(ms, subMatch{off: from, n: p + sr.sub - from, src: sr.blk*int64(bs) + int64(o+from-p)})
			}
		}
	}
	return mergeMatches(ms, int64(bs))
}

// mergeMatches sorts ms by offset, trims overlaps (the earlier keeps its
// bytes) and joins stretches contiguous in both the block and the source
// within one source block of bs bytes (a CopyFrom names one).
func mergeMatches(ms []subMatch, bs int64) []subMatch {
	if len(ms) < 2 {
		return ms
	}
	slices.SortStableFunc(ms, func(x, y subMatch) int { return cmp.Compare(x.off, y.off) })
	out := ms[:1]
	for _, m := range ms[1:] {
		last := &out[len(out)-1]
		end := last.off + last.n
		if m.off < end {
			cut := end - m.off
			if cut >= m.n {
				continue
			}
			m.off, m.n, m.src = end, m.n-cut, m.src+int64(cut)
		}
		if m.off == end && m.src == last.src+int64(last.n) && last.src/bs == (m.src+int64(m.n)-1)/bs {
			last.n += m.n
			continue
		}
		out = append(out, m)
	}
	return out
}

// editTailSubs is the fewest sub-blocks at a refined block's end, all
// differing, that make send look for their data shifted: two 8 KiB pages
// rewritten there (4 sub-blocks) cost a search for the next old block's
// anchor and nothing more.
const editTailSubs = 3

// editedTail is how many sub-blocks at the end of a refined block differ
// from the receiver's (ref, ours ws) in a row.
func editedTail(ref *wire.RefineBlock, ws []uint64) int {
	k := 0
	for k < len(ws) && ws[len(ws)-1-k] != ref.Weak[len(ws)-1-k] {
		k++
	}
	return k
}

// inPlace reports whether every copy among pieces of block blk is from
// the same place in the old file.
func inPlace(blk int64, bs int, pieces []piece) bool {
	for _, pc := range pieces {
		if pc.src >= 0 && pc.src != blk*int64(bs)+int64(pc.off) {
			return false
		}
	}
	return true
}

// subRefs returns the refinements recoverSubs may use in block blk: of
// old block blk (ref, in sub-blocks of sub bytes), of the block before
// (kept from its turn) and of the block after (next, when its batch's
// answer is in hand: after a deletion a block's end holds the next old
// block's data), and keeps ref for the next block.
func (rs *sendRoll) subRefs(blk int64, ref, next *wire.RefineBlock, sub int) []subRef {
	var refs []subRef
	if sub <= 0 {
		return nil
	}
	if ref != nil {
		refs = append(refs, subRef{blk: blk, ref: ref, sub: sub})
	}
	if p := rs.prevRef; p.ref != nil && p.blk == blk-1 && p.sub == sub {
		refs = append(refs, p)
	}
	if next != nil {
		refs = append(refs, subRef{blk: blk + 1, ref: next, sub: sub})
	}
	rs.prevRef = subRef{blk: blk, ref: ref, sub: sub}
	return refs
}
