package engine

import (
	"fmt"
	"math/bits"
	"testing"
)

// TestRollMatchesSum: sliding the window byte by byte gives the sum of
// each window computed afresh, at every window size the sessions use.
func TestRollMatchesSum(t *testing.T) {
	data := randBytes(3, 20000)
	for _, bs := range []int{4096, 64 << 10, 1 << 20, 4 << 20} {
		r := newRoller(rollWindow(bs))
		h := r.sumRaw(data)
		for o := 1; o+r.w <= len(data); o++ {
			h = r.roll(h, data[o-1], data[o+r.w-1])
			if want := r.sumRaw(data[o:]); h != want {
				t.Fatalf("block %d, window %d: rolled sum at %d is %x, want %x", bs, r.w, o, h, want)
			}
		}
	}
}

// TestRollDistribution: distinct windows of low-entropy data (one byte
// value, a two-letter alphabet, a short period, pairs of bytes changed in
// ways that keep Adler's sums equal) all have distinct sums, and spread
// over the prefilter's buckets, at every window size.
func TestRollDistribution(t *testing.T) {
	for _, bs := range []int{4096, 16 << 10, 64 << 10, 1 << 20, 4 << 20} {
		w := rollWindow(bs)
		r := newRoller(w)
		seen := map[uint64]string{}
		buckets := map[uint64]bool{}
		add := func(what string, win []byte) {
			h := r.sumRaw(win)
			if prev, ok := seen[h]; ok && prev != string(win) {
				t.Fatalf("window %d: %s collides with another window (sum %x)", w, what, h)
			}
			seen[h] = string(win)
			buckets[preIndex(h)] = true
		}
		for c := range 256 { // uniform windows
			win := make([]byte, w)
			for i := range win {
				win[i] = byte(c)
			}
			add("uniform", win)
		}
		// All windows of a two-letter text with a period longer than w.
		text := make([]byte, 3*w)
		x := uint32(7)
		for i := range text {
			x = x*1664525 + 1013904223
			text[i] = 'a' + byte(x>>31)
		}
		for o := 0; o+w <= len(text); o++ {
			add("two-letter", text[o:o+w])
		}
		// Adler-equal pairs: +d at i and -d at j keep the byte sum.
		base := randBytes(uint64(w), w)
		for k := range 2000 {
			win := append([]byte(nil), base...)
			i, j := (k*7919)%w, (k*104729+1)%w
			if i == j {
				continue
			}
			win[i]++
			win[j]--
			add("adler pair", win)
		}
		if len(buckets) < len(seen)/2 {
			t.Errorf("window %d: %d sums fall in only %d prefilter buckets", w, len(seen), len(buckets))
		}
	}
}

// TestRollIndexBounds: equal sources count once, at most rollCandidates
// per anchor are kept, and eviction leaves the prefilter exact.
func TestRollIndexBounds(t *testing.T) {
	x := newRollIndex(newRoller(256), 4096, 0)
	for b := range int64(10) {
		x.add(b, 7, 99, 4096) // one block repeated: one entry
	}
	if cs := x.m[7]; len(cs) != 1 || cs[0].block != 9 {
		t.Fatalf("repeated block: candidates %+v, want one, the newest", cs)
	}
	for b := range int64(10) {
		x.add(10+b, 8, uint64(b), 4096)
	}
	if cs := x.m[8]; len(cs) != rollCandidates {
		t.Fatalf("%d candidates for one anchor, want %d", len(cs), rollCandidates)
	}
	x.evictBefore(100)
	if len(x.m) != 0 || len(x.order) != 0 {
		t.Fatalf("after evicting all: map %v, order %d", x.m, len(x.order))
	}
	for i, c := range x.pre {
		if c != 0 {
			t.Fatalf("prefilter bucket %d holds %d after evicting all", i, c)
		}
	}
}

// TestSearchFindsShifted: a block whose source sits 100 bytes in is
// found, with the literal before it and the rest carried into the next
// block.
func TestSearchFindsShifted(t *testing.T) {
	for _, blocks := range []int64{0, 2} { // the full prefilter, a small file's
		t.Run(fmt.Sprint(blocks), func(t *testing.T) { testSearchFindsShifted(t, blocks) })
	}
}

func testSearchFindsShifted(t *testing.T, blocks int64) {
	const bs = 4096
	old := randBytes(4, 2*bs)
	r := newRoller(rollWindow(bs))
	x := newRollIndex(r, bs, blocks)
	if want := 1 << (bits.Len64(uint64(blocks)) + rollPreMinBits); blocks > 0 && len(x.pre) != want {
		t.Fatalf("prefilter of a %d-block file: %d slots, want %d", blocks, len(x.pre), want)
	}
	x.add(1, r.sum(old[bs:]), DefaultWeak(old[bs:2*bs]), bs)
	span := append(randBytes(5, 100), old[bs:]...) // block 1 at 100
	span = append(span, randBytes(6, bs-100)...)
	res := x.search(span, bs, 0, DefaultWeak)
	want := []piece{{off: 0, n: 100, src: -1}, {off: 100, n: bs - 100, src: bs}}
	if len(res.pieces) != 2 || res.pieces[0] != want[0] || res.pieces[1] != want[1] {
		t.Fatalf("pieces %+v, want %+v", res.pieces, want)
	}
	if res.carry != (piece{off: 0, n: 100, src: 2*bs - 100}) || res.copied != bs-100 {
		t.Fatalf("carry %+v copied %d", res.carry, res.copied)
	}
}
