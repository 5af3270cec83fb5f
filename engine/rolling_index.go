package engine

// The sender's side of the search: the receiver's block sums it knows
// (rollIndex) and the scan of one unmatched block against them (search).
// doc.go ("Rolling search") has the design and the bounds.

import (
	"cmp"
	"math/bits"
	"slices"
)

const (
	// rollMaxBlock is the largest block size that searches: the receiver
	// keeps a window of old blocks in memory (rollKeep).
	rollMaxBlock = 4 << 20
	// rollBackBatches is how far, in batches, behind the block being
	// decided a source block may lie; the receiver keeps needed blocks
	// from there to where its hasher is.
	rollBackBatches = 2
	// rollKeepBytes bounds the old bytes of needed blocks a receiver
	// worker's hasher copies as it reads them (rollKeepEager); past it a
	// needed source is lazy, read again just before it is overwritten if
	// the search is still active then (recvRoll.beforeWrite).
	rollKeepBytes = 2 * batchBytes
	// rollCandidates is the most sources kept per anchor sum (sources
	// with equal anchor and tier-1 hash count once), so at most this many
	// are checked at one offset.
	rollCandidates = 4
	// rollFailBudget is the most candidates of a block that may fail the
	// tier-1 check before its search stops: the work per searched byte is
	// thus one roll plus at most rollFailBudget tier-1 hashes per block.
	rollFailBudget = 2
	// rollStreak bytes of searched blocks in a row that found nothing make
	// a sender worker search only now and then: one needed block after
	// rollProbeGap bytes of needed blocks, a gap that doubles with each
	// probe that finds nothing, up to rollProbeMax, until one finds
	// something. Data replaced wholesale thus costs the search about
	// rollStreak bytes per stripe and a sixty-fourth of the rest at most.
	rollStreak   = 8 << 20
	rollProbeGap = 1 << 20
	rollProbeMax = 64 << 20
	// rollVerifyWeight: a byte checked by the tier-1 hash (xxhash64) costs
	// the work of 1/rollVerifyWeight byte rolled (measured 14 times
	// faster on the 2-core development VM), for the work bound.
	rollVerifyWeight = 8
	// rollPreBits is the size of the prefilter (zsync's negative hash
	// table): a count per value of the top rollPreBits bits of a sum, so
	// most offsets cost one look-up in a 128 KiB table and no map access.
	// A file of few blocks gets a smaller table (rollPreMinBits more bits
	// than its block count needs, at least rollPreMinBits): the same rate
	// of false passes per entry, in a table that stays in the L1 cache
	// instead of a cold 128 KiB one per small file of a tree.
	rollPreBits    = 16
	rollPreMinBits = 10
)

// rollSrc is a receiver block that may be the source of a copy.
type rollSrc struct {
	block int64
	weak  uint64 // tier-1 hash of its n bytes
	n     int
}

type rollEntry struct {
	block  int64
	anchor uint64
}

// rollIndex holds the sums of the receiver's blocks that a sender worker
// may copy from: those of its stripe from rollBackBatches behind the block
// it decides to the last the receiver sent. Entries arrive in block order
// and leave in the same order (evictBefore).
type rollIndex struct {
	r     *roller
	bs    int
	pre   []uint16 // per top 64-shift bits of an anchor: entries in m
	shift uint     // 64 minus the prefilter's bits
	m     map[uint64][]rollSrc
	order []rollEntry // entries in m, in block order
}

// newRollIndex returns the index of a stripe of a file of blocks blocks
// (0: unknown, the full-size prefilter).
func newRollIndex(r *roller, bs int, blocks int64) *rollIndex {
	b := rollPreBits
	if blocks > 0 {
		b = min(max(bits.Len64(uint64(blocks))+rollPreMinBits, rollPreMinBits), rollPreBits)
	}
	return &rollIndex{r: r, bs: bs, pre: make([]uint16, 1<<b), shift: uint(64 - b), m: make(map[uint64][]rollSrc)}
}

// empty reports whether the index holds no block.
func (x *rollIndex) empty() bool { return len(x.order) == 0 }

// preIndex is the prefilter slot of the full-size table.
func preIndex(h uint64) uint64 { return h >> (64 - rollPreBits) }

// slot is the prefilter slot of an anchor.
func (x *rollIndex) slot(h uint64) uint64 { return h >> x.shift }

// add makes block (n bytes, with the given anchor and tier-1 sums) a
// candidate source. A block equal by both sums to one already held
// replaces it (it is newer, so stays longer); beyond rollCandidates per
// anchor a block is dropped.
func (x *rollIndex) add(block int64, anchor, weak uint64, n int) {
	cs := x.m[anchor]
	for k := range cs {
		if cs[k].weak == weak && cs[k].n == n {
			cs[k].block = block
			x.order = append(x.order, rollEntry{block, anchor})
			return
		}
	}
	if len(cs) >= rollCandidates {
		return
	}
	x.m[anchor] = append(cs, rollSrc{block: block, weak: weak, n: n})
	x.pre[x.slot(anchor)]++
	x.order = append(x.order, rollEntry{block, anchor})
}

// entry returns the index of block's entry in order, or -1.
func (x *rollIndex) entry(block int64) int {
	k, ok := slices.BinarySearchFunc(x.order, block, func(e rollEntry, b int64) int { return cmp.Compare(e.block, b) })
	if !ok {
		return -1
	}
	return k
}

// anchorOf returns the anchor sum of block, if the index holds it.
func (x *rollIndex) anchorOf(block int64) (uint64, bool) {
	if k := x.entry(block); k >= 0 {
		return x.order[k].anchor, true
	}
	return 0, false
}

// lenOf returns the length of block, if the index holds it as a source
// (a block equal to a later one by both sums is held as that one).
func (x *rollIndex) lenOf(block int64) (int, bool) {
	k := x.entry(block)
	if k < 0 {
		return 0, false
	}
	for _, c := range x.m[x.order[k].anchor] {
		if c.block == block {
			return c.n, true
		}
	}
	return 0, false
}

// evictBefore drops every source below block lo.
func (x *rollIndex) evictBefore(lo int64) {
	k := 0
	for ; k < len(x.order) && x.order[k].block < lo; k++ {
		e := x.order[k]
		cs := x.m[e.anchor]
		for i := range cs {
			if cs[i].block == e.block {
				cs = append(cs[:i], cs[i+1:]...)
				x.pre[x.slot(e.anchor)]--
				break
			}
		}
		if len(cs) == 0 {
			delete(x.m, e.anchor)
		} else {
			x.m[e.anchor] = cs
		}
	}
	x.order = append(x.order[:0], x.order[k:]...)
}

// piece is part of a block the sender describes to the receiver: bytes
// [off, off+n) of the block are a copy of the receiver's old bytes at
// src, or literal when src < 0.
type piece struct {
	off, n int
	src    int64
}

// searchResult is what a search found in one block.
type searchResult struct {
	pieces []piece // covering [start, n) in order
	copied int     // bytes of copies among pieces
	carry  piece   // the rest of the last copy, past the block's end (n 0: none)
	work   int64   // bytes rolled and tier-1 hashed, for the work bound
}

// search scans the block span[:n] from start for windows whose sum is the
// anchor of a source and whose following bytes have the source's tier-1
// hash. span holds the bytes after the block too (the next block, where
// the source has them), so that a match may run past its end: the part
// past n is returned as carry, for the next block to begin with.
// Matches jump: after one, the scan resumes at its end without rolling.
func (x *rollIndex) search(span []byte, n, start int, weak WeakFunc) searchResult {
	var res searchResult
	w := x.r.w
	lit := start // start of the literal run not yet emitted
	fails := 0
	var h uint64
	fresh := true // h must be computed afresh at o
	for o := start; o < n && o+w <= len(span); {
		if fresh {
			h, fresh = x.r.sumRaw(span[o:]), false
			res.work += int64(w)
		}
		if !x.r.collide { // skip to the next offset the prefilter lets through
			o2, h2 := x.scan(span, o, min(n, len(span)-w+1), h)
			res.work += int64(o2 - o)
			o, h = o2, h2
			if o >= n || o+w > len(span) {
				break
			}
		}
		if key := x.r.hook(h); x.pre[x.slot(key)] != 0 && h != x.r.zero {
			if src, ok := x.verify(span, o, key, weak, &fails, &res.work); ok {
				if lit < o {
					res.pieces = append(res.pieces, piece{off: lit, n: o - lit, src: -1})
				}
				in := min(src.n, n-o)
				res.pieces = append(res.pieces, piece{off: o, n: in, src: src.block * int64(x.bs)})
				res.copied += in
				if in < src.n {
					res.carry = piece{off: 0, n: src.n - in, src: src.block*int64(x.bs) + int64(in)}
				}
				o += src.n
				lit, fresh = min(o, n), true
				continue
			}
			if fails >= rollFailBudget {
				break
			}
		}
		if o+w >= len(span) {
			break
		}
		h = x.r.roll(h, span[o], span[o+w])
		o++
		res.work++
	}
	if lit < n {
		res.pieces = append(res.pieces, piece{off: lit, n: n - lit, src: -1})
	}
	return res
}

// scan rolls the raw sum h of the window at o forward to the first offset
// below end whose sum passes the prefilter (and is not the zero window's),
// or to end. It is the search's hot loop: one multiply, three table
// look-ups per byte.
func (x *rollIndex) scan(span []byte, o, end int, h uint64) (int, uint64) {
	w, pre, out, zero, shift := x.r.w, x.pre, &x.r.out, x.r.zero, x.shift&63
	if end > len(span)-w+1 {
		end = len(span) - w + 1
	}
	for ; o < end; o++ {
		if pre[h>>shift] != 0 && h != zero {
			return o, h
		}
		if o+1 < end {
			h = h*rollMul + rollTab[span[o+w]] - out[span[o]]
		}
	}
	return end, h
}

// verify checks the candidates of the anchor key at offset o by their
// tier-1 hash, counting failures and the bytes hashed.
func (x *rollIndex) verify(span []byte, o int, key uint64, weak WeakFunc, fails *int, work *int64) (rollSrc, bool) {
	for _, c := range x.m[key] {
		if o+c.n > len(span) {
			continue
		}
		*work += int64(c.n) / rollVerifyWeight
		if weak(span[o:o+c.n]) == c.weak {
			return c, true
		}
		if *fails++; *fails >= rollFailBudget {
			break
		}
	}
	return rollSrc{}, false
}

// rollKeepEager is how many needed blocks of blockSize bytes a receiver
// worker's search holds copies of at once from its hasher's reads (at
// least one). With every block replaced the hasher, which runs up to the
// sender's window ahead of the blocks arriving, copied each needed block
// it read until rollStreak bytes had come whole, and held up to the
// search's whole reach (back: 24 MiB per worker with 1 MiB blocks): 40 of
// the server's 60 MB of block buffers in a fully replaced 1 GiB push (heap
// profile), every one fresh memory, which this VM zeroes (and its host
// backs) at 0.1-2.5 ms per MiB.
func rollKeepEager(blockSize int) int { return max(1, rollKeepBytes/max(blockSize, 1)) }
