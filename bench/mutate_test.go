package bench

import (
	"bytes"
	"math/rand/v2"
	"path/filepath"
	"testing"
)

// diffBlocks counts the blocks of b that differ from a (a block past the
// end of a counts as different).
func diffBlocks(a, b []byte, bs int) int64 {
	var n int64
	for off := 0; off < len(b); off += bs {
		end := min(off+bs, len(b))
		if end > len(a) || !bytes.Equal(a[off:end], b[off:end]) {
			n++
		}
	}
	return n
}

func TestMutateExactCounts(t *testing.T) {
	const bs = 4096
	const size = 1000*bs + 100 // 1001 blocks, the last one short
	dir := t.TempDir()
	orig := filepath.Join(dir, "orig")
	if err := GenerateRandom(orig, size, 3); err != nil {
		t.Fatal(err)
	}
	want := readFile(t, orig)
	for _, pat := range []Pattern{Random, Prefix, Blocks} {
		for _, frac := range []float64{0, 0.001, 0.1, 0.5, 0.999, 1} {
			p := filepath.Join(dir, "m")
			if err := CopyFile(orig, p); err != nil {
				t.Fatal(err)
			}
			got, err := Mutate(p, bs, frac, pat, 42)
			if err != nil {
				t.Fatal(err)
			}
			exp := int64(frac*1001 + 0.5)
			if got != exp {
				t.Errorf("%v %v: reported %d, want %d", pat, frac, got, exp)
			}
			data := readFile(t, p)
			if len(data) != size {
				t.Fatalf("%v %v: size changed to %d", pat, frac, len(data))
			}
			if d := diffBlocks(want, data, bs); d != got {
				t.Errorf("%v %v: %d blocks differ, reported %d", pat, frac, d, got)
			}
			if pat == Prefix && got > 0 && bytes.Equal(want[:bs], data[:bs]) {
				t.Errorf("prefix %v: first block unchanged", frac)
			}
		}
	}
}

func TestMutateDeterministic(t *testing.T) {
	dir := t.TempDir()
	orig := filepath.Join(dir, "orig")
	if err := GenerateRandom(orig, 256*4096, 1); err != nil {
		t.Fatal(err)
	}
	var out [3][]byte
	for i, seed := range []int64{5, 5, 6} {
		p := filepath.Join(dir, "m")
		if err := CopyFile(orig, p); err != nil {
			t.Fatal(err)
		}
		if _, err := Mutate(p, 4096, 0.3, Random, seed); err != nil {
			t.Fatal(err)
		}
		out[i] = readFile(t, p)
	}
	if !bytes.Equal(out[0], out[1]) {
		t.Error("same seed, different mutation")
	}
	if bytes.Equal(out[0], out[2]) {
		t.Error("different seeds, same mutation")
	}
}

func TestMutateInsert(t *testing.T) {
	const bs = 8192
	for _, size := range []int64{0, 100, bs, 37*bs + 5, InsertAt + 5*bs} {
		dir := t.TempDir()
		orig, p := filepath.Join(dir, "orig"), filepath.Join(dir, "m")
		if err := GenerateRandom(orig, size, 9); err != nil {
			t.Fatal(err)
		}
		if err := CopyFile(orig, p); err != nil {
			t.Fatal(err)
		}
		got, err := Mutate(p, bs, 0, Insert, 1)
		if err != nil {
			t.Fatal(err)
		}
		a, b := readFile(t, orig), readFile(t, p)
		if int64(len(b)) != size+InsertLen {
			t.Fatalf("size %d: grew to %d", size, len(b))
		}
		if d := diffBlocks(a, b, bs); d != got {
			t.Errorf("size %d: %d blocks differ, reported %d", size, d, got)
		}
		// The original bytes are all there, shifted past the gap.
		at := bytes.Index(b, a[:min(len(a), 64)])
		if size > 0 && at < 0 {
			t.Fatalf("size %d: original start lost", size)
		}
		if at >= 0 && size > 0 {
			cut := int64(0)
			for cut < size && a[cut] == b[cut] {
				cut++
			}
			if !bytes.Equal(a[:cut], b[:cut]) || !bytes.Equal(a[cut:], b[cut+InsertLen:]) {
				t.Errorf("size %d: data not shifted by %d at %d", size, InsertLen, cut)
			}
			if size > InsertAt && cut != InsertAt && !(cut > InsertAt && cut < InsertAt+InsertLen) {
				t.Errorf("size %d: inserted at %d, want %d", size, cut, InsertAt)
			}
		}
	}
}

// TestMutateInserts: InsertsCount runs of InsertsLen bytes are inserted;
// the original bytes are all there, in order, between them.
func TestMutateInserts(t *testing.T) {
	const bs = 8192
	const size = 300*bs + 7
	dir := t.TempDir()
	orig, p := filepath.Join(dir, "orig"), filepath.Join(dir, "m")
	if err := GenerateRandom(orig, size, 3); err != nil {
		t.Fatal(err)
	}
	if err := CopyFile(orig, p); err != nil {
		t.Fatal(err)
	}
	got, err := Mutate(p, bs, 0, Inserts, 1)
	if err != nil {
		t.Fatal(err)
	}
	a, b := readFile(t, orig), readFile(t, p)
	if len(b) != size+InsertsCount*InsertsLen {
		t.Fatalf("grew to %d", len(b))
	}
	if d := diffBlocks(a, b, bs); d != got {
		t.Errorf("%d blocks differ, reported %d", d, got)
	}
	// Walk b: each run of a's bytes is followed by a gap of InsertsLen.
	i, j, gaps := 0, 0, 0
	for i < len(a) {
		if j < len(b) && a[i] == b[j] {
			i, j = i+1, j+1
			continue
		}
		j += InsertsLen
		gaps++
		if gaps > InsertsCount || j > len(b) {
			t.Fatalf("original bytes lost at %d (after %d gaps)", i, gaps)
		}
	}
	if len(b)-j != (InsertsCount-gaps)*InsertsLen {
		t.Fatalf("%d gaps found, %d bytes left at the end", gaps, len(b)-j)
	}
}

func TestPickDistinct(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, c := range [][2]int64{{0, 0}, {10, 10}, {1000, 1}, {1000, 999}, {1 << 40, 100}} {
		got := pickDistinct(rng, c[0], c[1])
		if int64(len(got)) != c[1] {
			t.Fatalf("n=%d k=%d: got %d", c[0], c[1], len(got))
		}
		for i, v := range got {
			if v < 0 || v >= c[0] || (i > 0 && v <= got[i-1]) {
				t.Fatalf("n=%d k=%d: bad sequence at %d: %v", c[0], c[1], i, v)
			}
		}
	}
}

func TestParsePattern(t *testing.T) {
	for _, p := range []Pattern{Random, Prefix, Insert} {
		q, err := ParsePattern(p.String())
		if err != nil || q != p {
			t.Errorf("%v: got %v, %v", p, q, err)
		}
	}
	if _, err := ParsePattern("middle"); err == nil {
		t.Error("accepted an unknown pattern")
	}
}

// TestMutateInsertLen: MutateInsert inserts any number of bytes where
// Insert does, more than its 4 MiB buffer too, keeping the rest shifted.
func TestMutateInsertLen(t *testing.T) {
	const bs = 64 << 10
	for _, n := range []int64{1, 2 << 20, 5<<20 + 3} {
		dir := t.TempDir()
		orig, p := filepath.Join(dir, "orig"), filepath.Join(dir, "m")
		const size = InsertAt + 3*bs + 11
		if err := GenerateRandom(orig, size, 4); err != nil {
			t.Fatal(err)
		}
		if err := CopyFile(orig, p); err != nil {
			t.Fatal(err)
		}
		got, err := MutateInsert(p, bs, n, 1)
		if err != nil {
			t.Fatal(err)
		}
		a, b := readFile(t, orig), readFile(t, p)
		if int64(len(b)) != size+n {
			t.Fatalf("%d inserted: %d bytes, want %d", n, len(b), size+n)
		}
		if !bytes.Equal(b[:InsertAt], a[:InsertAt]) || !bytes.Equal(b[InsertAt+n:], a[InsertAt:]) {
			t.Errorf("%d inserted: the original bytes are not around the insertion", n)
		}
		if n >= 8 && bytes.Equal(b[InsertAt:InsertAt+min(n, 64)], a[InsertAt:InsertAt+min(n, 64)]) {
			t.Errorf("%d inserted: the inserted bytes repeat the original", n)
		}
		if d := diffBlocks(a, b, bs); d != got {
			t.Errorf("%d inserted: %d blocks differ, reported %d", n, d, got)
		}
	}
}
