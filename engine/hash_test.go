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
