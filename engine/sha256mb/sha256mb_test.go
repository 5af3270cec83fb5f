package sha256mb

import (
	"crypto/sha256"
	"fmt"
	"math/rand/v2"
	"testing"
)

func check(t testing.TB, msgs [][]byte) {
	t.Helper()
	out := make([][Size]byte, len(msgs))
	Sum256(out, msgs)
	for i, m := range msgs {
		if want := sha256.Sum256(m); out[i] != want {
			t.Fatalf("message %d of %d (%d bytes): %x, want %x", i, len(msgs), len(m), out[i], want)
		}
	}
}

// TestSum256 compares every lane with crypto/sha256: lengths around the
// padding's edges, lanes of equal and unequal lengths, and every count of
// messages from 1 to 9 (partial groups reread another lane's data).
func TestSum256(t *testing.T) {
	if !Fast() {
		t.Log("no SHA extensions here: the test checks the fallback only")
	}
	rng := rand.New(rand.NewPCG(1, 2))
	data := make([]byte, 1<<16)
	for i := range data {
		data[i] = byte(rng.Uint32())
	}
	lens := []int{0, 1, 55, 56, 57, 63, 64, 65, 119, 120, 127, 128, 129, 4096, 4097, 65536}
	for _, n := range lens { // equal lengths
		for cnt := 1; cnt <= 9; cnt++ {
			msgs := make([][]byte, cnt)
			for i := range msgs {
				off := rng.IntN(len(data) - n + 1)
				msgs[i] = data[off : off+n]
			}
			check(t, msgs)
		}
	}
	for range 500 { // unequal lengths
		msgs := make([][]byte, 1+rng.IntN(9))
		for i := range msgs {
			n := lens[rng.IntN(len(lens))]
			if rng.IntN(2) == 0 {
				n = rng.IntN(3000)
			}
			off := rng.IntN(len(data) - n + 1)
			msgs[i] = data[off : off+n]
		}
		check(t, msgs)
	}
}

func FuzzSum256(f *testing.F) {
	f.Add([]byte("abc"), uint8(3), uint8(7))
	f.Fuzz(func(t *testing.T, b []byte, cut1, cut2 uint8) {
		a, c := min(int(cut1), len(b)), min(int(cut2), len(b))
		check(t, [][]byte{b, b[a:], b[:c], b[min(a, c):max(a, c)], b[c:]})
	})
}

func BenchmarkSum256(b *testing.B) {
	for _, size := range []int{4 << 10, 1 << 20} {
		msgs := make([][]byte, 8)
		for i := range msgs {
			msgs[i] = make([]byte, size)
		}
		out := make([][Size]byte, len(msgs))
		b.Run(fmt.Sprintf("lanes/%d", size), func(b *testing.B) {
			b.SetBytes(int64(size * len(msgs)))
			for b.Loop() {
				Sum256(out, msgs)
			}
		})
		b.Run(fmt.Sprintf("crypto/%d", size), func(b *testing.B) {
			b.SetBytes(int64(size * len(msgs)))
			for b.Loop() {
				for i, m := range msgs {
					out[i] = sha256.Sum256(m)
				}
			}
		})
	}
}

// TestNoAllocs: the engine hashes every sub-block of a refined block
// through Sum256; garbage there was most of a sync's page faults once
// (engine/doc_cpu.go).
func TestNoAllocs(t *testing.T) {
	msgs := [][]byte{make([]byte, 4096), make([]byte, 4096), make([]byte, 100), make([]byte, 4096), make([]byte, 7)}
	out := make([][Size]byte, len(msgs))
	if n := testing.AllocsPerRun(20, func() { Sum256(out, msgs) }); n != 0 {
		t.Fatalf("Sum256 allocated %v times a call", n)
	}
}

func TestGodebugOff(t *testing.T) {
	for v, want := range map[string]bool{"": false, "cpu.sha=off": true, "x=1,cpu.all=off": true, "cpu.sha=off,cpu.sha=on": false, "cpu.avx2=off": false} {
		if got := godebugOff(v); got != want {
			t.Errorf("GODEBUG=%q: off %v, want %v", v, got, want)
		}
	}
}
