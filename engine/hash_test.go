package engine

import (
	"encoding/hex"
	"testing"
)

// TestStrongHashes checks each tier-2 hash against a published vector and
// its name against ParseStrongHash.
func TestStrongHashes(t *testing.T) {
	for _, c := range []struct {
		h     StrongHash
		in    string
		want  string
		names []string
	}{
		{SHA256, "abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", []string{"sha256", "SHA256"}},
		{BLAKE3, "", "af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262", []string{"blake3", "BLAKE3"}},
		{SHA512_256, "abc", "53048e2681941ef99b2e29b76b4c7dabe4c2d0c634fc6d46e0e2f13107e7af23", []string{"sha512_256", "SHA512-256"}},
	} {
		s, err := newStrongHasher(c.h)
		if err != nil {
			t.Fatal(err)
		}
		sum := s.sum([]byte(c.in))
		if got := hex.EncodeToString(sum[:]); got != c.want {
			t.Errorf("%s(%q) = %s, want %s", c.h, c.in, got, c.want)
		}
		for _, n := range c.names {
			if h, err := ParseStrongHash(n); err != nil || h != c.h {
				t.Errorf("ParseStrongHash(%q) = %v, %v; want %v", n, h, err, c.h)
			}
		}
	}
	if _, err := ParseStrongHash("md5"); err == nil {
		t.Error("md5 accepted")
	}
	if _, err := newStrongHasher(StrongHash(99)); err == nil {
		t.Error("hash 99 accepted")
	}
}

// TestStrongSums checks that each hasher's sum and sums (the lanes'
// paths: sha256mb, blake3mb) agree with the hash's one-shot function, on
// a 1 MiB block, its 4 KiB sub-blocks and a tail that is not a whole
// chunk.
func TestStrongSums(t *testing.T) {
	block := randBytes(31, 1<<20)
	var parts [][]byte
	for o := 0; o < len(block); o += 4096 {
		parts = append(parts, block[o:o+4096])
	}
	parts = append(parts, block[:5000], block[:1<<20])
	for _, h := range []StrongHash{SHA256, BLAKE3, SHA512_256} {
		f, _ := h.oneShot()
		s, err := newStrongHasher(h)
		if err != nil {
			t.Fatal(err)
		}
		if s.sum(block) != f(block) {
			t.Errorf("%s: sum of 1 MiB differs from the one-shot hash", h)
		}
		out := make([][32]byte, len(parts))
		s.sums(out, parts)
		for i, p := range parts {
			if out[i] != f(p) {
				t.Fatalf("%s: sums[%d] (%d bytes) differs from the one-shot hash", h, i, len(p))
			}
		}
	}
}
