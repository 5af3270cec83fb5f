package vaesgcm

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"encoding/binary"
	"math/rand/v2"
	"testing"
)

func need(t testing.TB) {
	if !Available() {
		t.Skip("no VAES with AVX-512 on this CPU")
	}
}

func pair(t testing.TB, key []byte) (ours, std cipher.AEAD) {
	ours, err := New(key)
	if err != nil {
		t.Fatal(err)
	}
	b, err := aes.NewCipher(key)
	if err != nil {
		t.Fatal(err)
	}
	if std, err = cipher.NewGCM(b); err != nil {
		t.Fatal(err)
	}
	return ours, std
}

// lengths around every path's edge: the 16-block and 4-block loops, the
// single blocks, partial blocks, and a TLS record.
var lengths = []int{0, 1, 15, 16, 17, 31, 32, 48, 63, 64, 65, 80, 127, 128, 191, 192, 255, 256, 257, 271, 272, 300, 319, 320, 511, 512, 1000, 1024, 4096, 16384, 16385, 16401, 65536 + 77}

func TestMatchesStd(t *testing.T) {
	need(t)
	r := rand.New(rand.NewPCG(1, 2))
	for _, kl := range []int{16, 24, 32} {
		key := make([]byte, kl)
		for i := range key {
			key[i] = byte(r.Uint32())
		}
		ours, std := pair(t, key)
		for _, n := range lengths {
			for _, adn := range []int{0, 5, 13, 16, 40, 300} {
				pt := make([]byte, n)
				ad := make([]byte, adn)
				nonce := make([]byte, 12)
				for i := range pt {
					pt[i] = byte(r.Uint32())
				}
				for i := range ad {
					ad[i] = byte(r.Uint32())
				}
				for i := range nonce {
					nonce[i] = byte(r.Uint32())
				}
				want := std.Seal(nil, nonce, pt, ad)
				got := ours.Seal([]byte("prefix"), nonce, pt, ad)
				if !bytes.Equal(got[6:], want) || string(got[:6]) != "prefix" {
					t.Fatalf("key %d, %d bytes, ad %d: Seal differs from crypto/cipher", kl, n, adn)
				}
				// In place, both ways.
				buf := append([]byte(nil), pt...)
				if got := ours.Seal(buf[:0], nonce, buf, ad); !bytes.Equal(got, want) {
					t.Fatalf("key %d, %d bytes: in-place Seal differs", kl, n)
				}
				open, err := ours.Open(nil, nonce, want, ad)
				if err != nil || !bytes.Equal(open, pt) {
					t.Fatalf("key %d, %d bytes, ad %d: Open: %v", kl, n, adn, err)
				}
				ct := append([]byte(nil), want...)
				if open, err := ours.Open(ct[:0], nonce, ct, ad); err != nil || !bytes.Equal(open, pt) {
					t.Fatalf("key %d, %d bytes: in-place Open: %v", kl, n, err)
				}
				// Any flipped bit is refused.
				for _, at := range []int{0, len(want) / 2, len(want) - 1} {
					bad := append([]byte(nil), want...)
					bad[at] ^= 0x40
					if _, err := ours.Open(nil, nonce, bad, ad); err == nil {
						t.Fatalf("key %d, %d bytes: a flipped bit at %d opened", kl, n, at)
					}
				}
				if adn > 0 {
					bad := append([]byte(nil), ad...)
					bad[0] ^= 1
					if _, err := ours.Open(nil, nonce, want, bad); err == nil {
						t.Fatalf("key %d, %d bytes: changed ad opened", kl, n)
					}
				}
			}
		}
	}
}

// TestCounterWraps: the counter is 32 bits and wraps within its word, as
// GCM's inc32 does, in the 16-block loop, the 4-block loop and the tail.
func TestCounterWraps(t *testing.T) {
	need(t)
	key := bytes.Repeat([]byte{7}, 16)
	ours, _ := New(key)
	g := ours.(*gcm)
	b, _ := aes.NewCipher(key)
	for _, start := range []uint32{0xffffffff - 20, 0xffffffff - 3, 0xffffffff} {
		for _, n := range []int{64, 256, 320, 16 * 40, 16 * 41, 16*43 + 5} {
			var ctr, ref [16]byte
			ctr[0], ctr[11] = 9, 3
			binary.BigEndian.PutUint32(ctr[12:], start)
			ref = ctr
			src := make([]byte, n)
			got := make([]byte, n)
			g.xorCTR(&ctr, got, src)
			want := make([]byte, n)
			var ks [16]byte
			for i := 0; i < n; i += 16 {
				b.Encrypt(ks[:], ref[:])
				copy(want[i:], ks[:])
				binary.BigEndian.PutUint32(ref[12:], binary.BigEndian.Uint32(ref[12:])+1)
			}
			if !bytes.Equal(got, want) || n%64 == 0 && ctr != ref {
				t.Fatalf("counter from %#x, %d bytes: key stream or next counter differs", start, n)
			}
		}
	}
}

func TestExpandKey(t *testing.T) {
	// FIPS 197 A.1 and A.3: the last round key.
	var rk [240]byte
	k128 := []byte{0x2b, 0x7e, 0x15, 0x16, 0x28, 0xae, 0xd2, 0xa6, 0xab, 0xf7, 0x15, 0x88, 0x09, 0xcf, 0x4f, 0x3c}
	expandKey(k128, &rk)
	if got := binary.BigEndian.Uint32(rk[172:]); got != 0xb6630ca6 {
		t.Fatalf("AES-128 w[43] = %#x, want 0xb6630ca6", got)
	}
	k256 := []byte{0x60, 0x3d, 0xeb, 0x10, 0x15, 0xca, 0x71, 0xbe, 0x2b, 0x73, 0xae, 0xf0, 0x85, 0x7d, 0x77, 0x81,
		0x1f, 0x35, 0x2c, 0x07, 0x3b, 0x61, 0x08, 0xd7, 0x2d, 0x98, 0x10, 0xa3, 0x09, 0x14, 0xdf, 0xf4}
	expandKey(k256, &rk)
	if got := binary.BigEndian.Uint32(rk[236:]); got != 0x706c631e {
		t.Fatalf("AES-256 w[59] = %#x, want 0x706c631e", got)
	}
}

func TestNotAvailable(t *testing.T) {
	if Available() {
		t.Skip("VAES is available")
	}
	if _, err := New(make([]byte, 16)); err == nil {
		t.Fatal("New succeeded without VAES")
	}
}

func FuzzMatchesStd(f *testing.F) {
	need(f)
	f.Add([]byte("0123456789abcdef"), []byte("nonce-12byte"), []byte("hello"), []byte("ad"), false)
	f.Add(make([]byte, 32), make([]byte, 12), make([]byte, 300), []byte{}, true)
	f.Fuzz(func(t *testing.T, key, nonce, pt, ad []byte, tamper bool) {
		if l := len(key); l != 16 && l != 24 && l != 32 || len(nonce) != 12 || len(pt) > 1<<16 {
			return
		}
		ours, std := pair(t, key)
		want := std.Seal(nil, nonce, pt, ad)
		if got := ours.Seal(nil, nonce, pt, ad); !bytes.Equal(got, want) {
			t.Fatalf("Seal differs from crypto/cipher (%d bytes, ad %d)", len(pt), len(ad))
		}
		if tamper {
			want[len(want)/2] ^= 1
		}
		a, errA := ours.Open(nil, nonce, want, ad)
		b, errB := std.Open(nil, nonce, want, ad)
		if (errA == nil) != (errB == nil) || !bytes.Equal(a, b) {
			t.Fatalf("Open differs from crypto/cipher: %v, %v", errA, errB)
		}
	})
}

func bench(b *testing.B, open bool, std bool) {
	need(b)
	key := make([]byte, 16)
	ours, s := pair(b, key)
	a := ours
	if std {
		a = s
	}
	nonce := make([]byte, 12)
	pt := make([]byte, 16385)
	ad := make([]byte, 5)
	ct := a.Seal(nil, nonce, pt, ad)
	out := make([]byte, 0, len(ct))
	b.SetBytes(int64(len(pt)))
	for b.Loop() {
		if open {
			if _, err := a.Open(out[:0], nonce, ct, ad); err != nil {
				b.Fatal(err)
			}
		} else {
			out = a.Seal(out[:0], nonce, pt, ad)
		}
	}
}

func BenchmarkSeal(b *testing.B)    { bench(b, false, false) }
func BenchmarkOpen(b *testing.B)    { bench(b, true, false) }
func BenchmarkStdSeal(b *testing.B) { bench(b, false, true) }
func BenchmarkStdOpen(b *testing.B) { bench(b, true, true) }
