package blake3mb

import (
	"encoding/binary"
	"math/rand/v2"
	"testing"

	"github.com/zeebo/blake3"
)

func randBytes(r *rand.Rand, n int) []byte {
	b := make([]byte, n+8)
	for i := 0; i < n; i += 8 {
		binary.LittleEndian.PutUint64(b[i:], r.Uint64())
	}
	return b[:n]
}

// Every length the lanes take, and the ones around them, against
// zeebo/blake3.
func TestSum256(t *testing.T) {
	if !Fast() {
		t.Log("no AVX-512 here: the fallback alone is checked")
	}
	r := rand.New(rand.NewPCG(1, 2))
	var h Hasher
	lengths := []int{0, 1, 64, 1023, 1024, 1025, 2047, 2048, 3072, 4096, 5 << 10, 7 << 10, 8 << 10,
		15 << 10, 16 << 10, 17 << 10, 31 << 10, 32 << 10, 33 << 10, 100 << 10, 255 << 10, 256 << 10, 1 << 20, 1<<20 + 1024, 3 << 20}
	for _, n := range lengths {
		m := randBytes(r, n)
		if got, want := h.Sum256(m), blake3.Sum256(m); got != want {
			t.Fatalf("length %d: %x, want %x", n, got, want)
		}
	}
}

func TestSumMany(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	var h Hasher
	for _, shape := range [][]int{
		{4096},
		repeat(4096, 16),
		repeat(4096, 256),
		repeat(4096, 37),
		repeat(1024, 20),
		repeat(2048, 17),
		repeat(3072, 5),
		repeat(5120, 18),
		repeat(7168, 16),
		repeat(8192, 3),
		append(append(repeat(4096, 10), 100, 0, 4095), repeat(4096, 7)...),
		append(repeat(1<<20, 5), repeat(4096, 9)...),
	} {
		msgs := make([][]byte, len(shape))
		for i, n := range shape {
			msgs[i] = randBytes(r, n)
		}
		out := make([][Size]byte, len(msgs))
		h.SumMany(out, msgs)
		for i, m := range msgs {
			if want := blake3.Sum256(m); out[i] != want {
				t.Fatalf("shape %v: message %d (%d bytes): %x, want %x", shape[:min(len(shape), 4)], i, len(m), out[i], want)
			}
		}
	}
}

func repeat(n, k int) []int {
	s := make([]int, k)
	for i := range s {
		s[i] = n
	}
	return s
}

// FuzzSum: messages of up to 64 KiB (more than one group of sixteen
// chunks; TestSum256 has the long ones) and sets of up to 39 messages of
// one length, against zeebo/blake3. Each input is cheap, so that a short
// run (make fuzz-smoke) is not cut off in the middle of one.
func FuzzSum(f *testing.F) {
	f.Add([]byte("abc"), uint16(3), uint8(2))
	f.Add([]byte{1}, uint16(33), uint8(17))
	f.Fuzz(func(t *testing.T, seed []byte, kib uint16, k uint8) {
		n := int(kib%65) * 1024
		if len(seed) > 0 {
			n += int(seed[0]) % 2 * 7
		}
		r := rand.New(rand.NewPCG(uint64(len(seed)), uint64(kib)))
		var h Hasher
		m := randBytes(r, n)
		if got, want := h.Sum256(m), blake3.Sum256(m); got != want {
			t.Fatalf("length %d: %x, want %x", n, got, want)
		}
		msgs := make([][]byte, int(k%40))
		for i := range msgs {
			msgs[i] = randBytes(r, int(kib%9)*1024)
		}
		out := make([][Size]byte, len(msgs))
		h.SumMany(out, msgs)
		for i, m := range msgs {
			if want := blake3.Sum256(m); out[i] != want {
				t.Fatalf("message %d of %d bytes: %x, want %x", i, len(m), out[i], want)
			}
		}
	})
}

func benchSum(b *testing.B, n int) {
	m := randBytes(rand.New(rand.NewPCG(5, 6)), n)
	var h Hasher
	b.SetBytes(int64(n))
	for b.Loop() {
		h.Sum256(m)
	}
}

func BenchmarkSum1M(b *testing.B) { benchSum(b, 1<<20) }

func BenchmarkZeebo1M(b *testing.B) {
	m := randBytes(rand.New(rand.NewPCG(5, 6)), 1<<20)
	b.SetBytes(1 << 20)
	for b.Loop() {
		blake3.Sum256(m)
	}
}

func BenchmarkSumMany4K(b *testing.B) {
	r := rand.New(rand.NewPCG(7, 8))
	msgs := make([][]byte, 256)
	for i := range msgs {
		msgs[i] = randBytes(r, 4096)
	}
	out := make([][Size]byte, len(msgs))
	var h Hasher
	b.SetBytes(1 << 20)
	for b.Loop() {
		h.SumMany(out, msgs)
	}
}

func BenchmarkZeebo4K(b *testing.B) {
	r := rand.New(rand.NewPCG(7, 8))
	msgs := make([][]byte, 256)
	for i := range msgs {
		msgs[i] = randBytes(r, 4096)
	}
	b.SetBytes(1 << 20)
	for b.Loop() {
		for _, m := range msgs {
			blake3.Sum256(m)
		}
	}
}
