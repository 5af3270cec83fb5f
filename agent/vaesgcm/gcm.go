package vaesgcm

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/fips140"
	"crypto/subtle"
	"encoding/binary"
	"errors"
	"math/bits"
	"unsafe"
)

const (
	nonceSize = 12
	tagSize   = 16
)

// Available reports whether New can return an AEAD on this CPU: AVX-512
// (F, BW, VL) with VAES and VPCLMULQDQ, and the OS's support for the
// registers. GODEBUG=cpu.avx512f=off (or cpu.all=off) turns it off.
func Available() bool { return fast }

// New returns AES-GCM with a 12-byte nonce and a 16-byte tag for a 16-,
// 24- or 32-byte key: the same AEAD as cipher.NewGCM(aes.NewCipher(key)),
// byte for byte. It fails where Available is false.
func New(key []byte) (cipher.AEAD, error) {
	if !fast {
		return nil, errors.New("vaesgcm: this CPU has no VAES with AVX-512")
	}
	b, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	g := &gcm{rounds: len(key)/4 + 6}
	expandKey(key, &g.rk)
	var h [16]byte
	b.Encrypt(h[:], h[:])
	g.powers(h)
	return g, nil
}

// Best returns the fastest AES-GCM here for key: New's where Available
// and not in FIPS 140 mode (this code is not a validated module), else
// cipher.NewGCM over crypto/aes. The agents' TLS record layer seals with
// it, and the bench's record floor measures it.
func Best(key []byte) (cipher.AEAD, error) {
	if fast && !fips140.Enabled() {
		return New(key)
	}
	b, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(b)
}

type gcm struct {
	rk     [240]byte // the encryption round keys, 16 bytes each
	rounds int       // 10, 12 or 14
	htab   [512]byte // H^32..H^1, reflected and shifted (gen.go)
}

func (g *gcm) NonceSize() int { return nonceSize }
func (g *gcm) Overhead() int  { return tagSize }

func (g *gcm) Seal(dst, nonce, plaintext, ad []byte) []byte {
	if len(nonce) != nonceSize {
		panic("vaesgcm: incorrect nonce length given to GCM")
	}
	if uint64(len(plaintext)) > (1<<32-2)*16 {
		panic("vaesgcm: message too large for GCM")
	}
	ret, out := sliceForAppend(dst, len(plaintext)+tagSize)
	if inexactOverlap(out, plaintext) {
		panic("vaesgcm: invalid buffer overlap")
	}
	var j0 [16]byte
	copy(j0[:], nonce)
	j0[15] = 1
	ctr := j0
	ctr[15] = 2
	g.xorCTR(&ctr, out[:len(plaintext)], plaintext)
	g.tag(&j0, out[len(plaintext):], ad, out[:len(plaintext)])
	return ret
}

var errOpen = errors.New("cipher: message authentication failed")

func (g *gcm) Open(dst, nonce, ciphertext, ad []byte) ([]byte, error) {
	if len(nonce) != nonceSize {
		panic("vaesgcm: incorrect nonce length given to GCM")
	}
	if len(ciphertext) < tagSize || uint64(len(ciphertext)) > (1<<32-2)*16+tagSize {
		return nil, errOpen
	}
	ct, want := ciphertext[:len(ciphertext)-tagSize], ciphertext[len(ciphertext)-tagSize:]
	var j0 [16]byte
	copy(j0[:], nonce)
	j0[15] = 1
	var sum [16]byte
	g.tag(&j0, sum[:], ad, ct)
	ret, out := sliceForAppend(dst, len(ct))
	if inexactOverlap(out, ciphertext) {
		panic("vaesgcm: invalid buffer overlap")
	}
	if subtle.ConstantTimeCompare(sum[:], want) != 1 {
		clear(out)
		return nil, errOpen
	}
	ctr := j0
	ctr[15] = 2
	g.xorCTR(&ctr, out, ct)
	return ret, nil
}

// xorCTR XORs the key stream from ctr into src: whole 64-byte groups, then
// the rest from one more group's key stream. Everything here stays on the
// stack (no call through an interface), so a record costs no allocation.
func (g *gcm) xorCTR(ctr *[16]byte, dst, src []byte) {
	n := len(src) &^ 63
	if n > 0 {
		ctr64(&g.rk, g.rounds, ctr, &dst[0], &src[0], n)
	}
	if n < len(src) {
		var ks [64]byte
		ctr64(&g.rk, g.rounds, ctr, &ks[0], &ks[0], 64)
		subtle.XORBytes(dst[n:], src[n:], ks[:])
	}
}

// tag writes the tag of ad and ct under j0 to out.
func (g *gcm) tag(j0 *[16]byte, out, ad, ct []byte) {
	var acc [16]byte
	g.update(&acc, ad)
	g.update(&acc, ct)
	var l [16]byte
	binary.BigEndian.PutUint64(l[:8], uint64(len(ad))*8)
	binary.BigEndian.PutUint64(l[8:], uint64(len(ct))*8)
	ghash(&g.htab, &acc, &l[0], 16)
	var m [64]byte // E(j0) and three blocks not used
	c := *j0
	ctr64(&g.rk, g.rounds, &c, &m[0], &m[0], 64)
	for i := range out[:16] {
		out[i] = acc[15-i] ^ m[i] // acc is reflected
	}
}

// update folds p, its last block padded with zeros, into acc.
func (g *gcm) update(acc *[16]byte, p []byte) {
	n := len(p) &^ 15
	if n > 0 {
		ghash(&g.htab, acc, &p[0], n)
	}
	if n < len(p) {
		var last [16]byte
		copy(last[:], p[n:])
		ghash(&g.htab, acc, &last[0], 16)
	}
}

// u128 is a reflected GHASH element: the block's bytes reversed, read as
// a little-endian integer.
type u128 struct{ lo, hi uint64 }

// powers fills htab with H^32..H^1 from the hash key h = E(0).
func (g *gcm) powers(h [16]byte) {
	x := u128{binary.BigEndian.Uint64(h[8:]), binary.BigEndian.Uint64(h[:8])}
	// Shift left by one, folding the top bit back with the polynomial.
	top := x.hi >> 63
	x = u128{x.lo << 1, x.hi<<1 | x.lo>>63}
	x.lo ^= top
	x.hi ^= top * 0xc200000000000000
	p := x
	for i := 31; i >= 0; i-- {
		binary.LittleEndian.PutUint64(g.htab[16*i:], p.lo)
		binary.LittleEndian.PutUint64(g.htab[16*i+8:], p.hi)
		p = gfMul(p, x)
	}
}

// gfMul multiplies as gen.go's ghash does: the 256-bit carry-less product,
// reduced in two folds by the polynomial's constant.
func gfMul(a, b u128) u128 {
	l1, l0 := clmul(a.lo, b.lo)
	h1, h0 := clmul(a.hi, b.hi)
	m1, m0 := clmul(a.lo, b.hi)
	n1, n0 := clmul(a.hi, b.lo)
	m1, m0 = m1^n1, m0^n0
	lo := u128{l0, l1 ^ m0}
	hi := u128{h0 ^ m1, h1}
	for range 2 {
		t1, t0 := clmul(0xc200000000000000, lo.lo)
		lo = u128{lo.hi ^ t0, lo.lo ^ t1}
	}
	return u128{lo.lo ^ hi.lo, lo.hi ^ hi.hi}
}

// clmul is the carry-less product of a and b, high word first.
func clmul(a, b uint64) (hi, lo uint64) {
	for i := range 64 {
		if b>>i&1 != 0 {
			lo ^= a << i
			if i > 0 {
				hi ^= a >> (64 - i)
			}
		}
	}
	return hi, lo
}

// expandKey writes AES's encryption round keys for key (FIPS 197 5.2).
// SubWord is an AES instruction (subWord), not a table lookup indexed by
// the key: no cache timing.
func expandKey(key []byte, rk *[240]byte) {
	nk := len(key) / 4
	n := 4 * (nk + 7)
	w := make([]uint32, n)
	for i := range nk {
		w[i] = binary.BigEndian.Uint32(key[4*i:])
	}
	rcon := uint32(1)
	for i := nk; i < n; i++ {
		t := w[i-1]
		switch {
		case i%nk == 0:
			t = subWord(bits.RotateLeft32(t, 8)) ^ rcon<<24
			rcon = uint32(xtime(byte(rcon)))
		case nk > 6 && i%nk == 4:
			t = subWord(t)
		}
		w[i] = w[i-nk] ^ t
	}
	for i, v := range w {
		binary.BigEndian.PutUint32(rk[4*i:], v)
	}
}

func xtime(b byte) byte { return b<<1 ^ (b>>7)*0x1b }

func sliceForAppend(in []byte, n int) (head, tail []byte) {
	if total := len(in) + n; cap(in) >= total {
		head = in[:total]
	} else {
		head = make([]byte, total)
		copy(head, in)
	}
	return head, head[len(in):]
}

// inexactOverlap reports whether x and y share memory at other than the
// same offset (in place is fine, shifted is not).
func inexactOverlap(x, y []byte) bool {
	if len(x) == 0 || len(y) == 0 || &x[0] == &y[0] {
		return false
	}
	xs, ys := uintptr(unsafe.Pointer(&x[0])), uintptr(unsafe.Pointer(&y[0]))
	return xs <= ys+uintptr(len(y)-1) && ys <= xs+uintptr(len(x)-1)
}
