package engine

import "github.com/pdiffagent/pdiffagent/wire"

// The rolling hash of the search for moved data (doc.go, "Rolling search").
//
// It is a Rabin-Karp polynomial modulo 2^64 over a table of random 64-bit
// values: the sum of a window x[0..w) is
//
//	Σ rollTab[x[i]] · rollMul^(w-1-i)   (mod 2^64)
//
// with rollMul a fixed odd multiplier, so sliding the window one byte is
// one multiply and two table look-ups: h·rollMul + tab[in] - out[old], where
// out[b] = tab[b]·rollMul^w. The table spreads every byte value over all 64
// bits, so unlike Adler-style sums (two 16-bit halves that degenerate when
// the window is a multiple of 64 KiB, or on uniform data) no block size and
// no byte distribution makes whole classes of windows collide. Bit k of a
// sum depends only on bits 0..k of its terms, so the high bits mix the
// most: the prefilter takes its index from the top bits.
//
// The window is not the whole block but its first rollWindow bytes (the
// block's anchor): the receiver sums w bytes per block on top of the
// hashing it does anyway, and the sender, which rolls over every byte of
// what it searches, pays the same per byte whatever w is. A candidate is
// then checked by the tier-1 hash of the whole block (which the receiver
// computed anyway) and confirmed by the strong hash before use.

// rollMul is the multiplier (odd, so that its powers never reach 0 mod
// 2^64; its order is 2^62, far beyond any window).
const rollMul uint64 = 0x9e3779b97f4a7c15

// rollTab maps a byte to its term: splitmix64 of a fixed seed, so both
// sides of a session agree without negotiating.
var rollTab = func() (t [256]uint64) {
	x := uint64(0x70646966666167) // "pdiffag"
	for i := range t {
		x += 0x9e3779b97f4a7c15
		z := x
		z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
		z = (z ^ z>>27) * 0x94d049bb133111eb
		t[i] = z ^ z>>31
	}
	return t
}()

// rollWindow is the anchor length for blocks of bs bytes: a sixteenth of
// the block, at most 1 KiB (256 bytes at the smallest block).
func rollWindow(bs int) int { return min(bs/16, 1024) }

// roller computes and slides the sums of windows of w bytes.
type roller struct {
	w    int
	out  [256]uint64 // rollTab[b]·rollMul^w: a byte leaving the window
	zero uint64      // the sum of w zero bytes: never looked up
	// collide, a test hook, makes every sum equal (zero windows aside),
	// forcing a candidate at every offset.
	collide bool
}

func newRoller(w int) *roller {
	r := &roller{w: w}
	p := uint64(1)
	for range w {
		p *= rollMul
	}
	for b := range r.out {
		r.out[b] = rollTab[b] * p
	}
	r.zero = r.sumRaw(make([]byte, w))
	return r
}

// sumRaw is the sum of b (the first w bytes of a window), without the hook.
func (r *roller) sumRaw(b []byte) uint64 {
	var h uint64
	for _, c := range b[:r.w] {
		h = h*rollMul + rollTab[c]
	}
	return h
}

// sum is the sum of the window b[:w].
func (r *roller) sum(b []byte) uint64 { return r.hook(r.sumRaw(b)) }

// roll slides the raw sum h of a window one byte: old leaves, in enters.
func (r *roller) roll(h uint64, old, in byte) uint64 {
	return h*rollMul + rollTab[in] - r.out[old]
}

// hook applies the collide test hook to a raw sum.
func (r *roller) hook(h uint64) uint64 {
	if r.collide && h != r.zero {
		return 1
	}
	return h
}

// rolling reports whether a session searches for moved data: both peers
// have CapRolling, the blocks are small enough for the receiver to keep a
// window of them (rollMaxBlock), and the sync writes (a dry run does not
// search).
func (p Params) rolling() bool {
	return p.Caps.Has(wire.CapRolling) && !p.NoRolling && !p.WholeFile && !p.DryRun && p.BlockSize <= rollMaxBlock
}
