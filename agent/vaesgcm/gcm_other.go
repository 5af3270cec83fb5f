//go:build !amd64 || purego

package vaesgcm

const fast = false

func ctr64(rk *[240]byte, rounds int, ctr *[16]byte, dst, src *byte, n int) {
	panic("vaesgcm: no VAES path here")
}

func ghash(htab *[512]byte, acc *[16]byte, p *byte, n int) { panic("vaesgcm: no VAES path here") }

func subWord(x uint32) uint32 { panic("vaesgcm: no VAES path here") }
