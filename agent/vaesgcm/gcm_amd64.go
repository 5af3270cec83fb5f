//go:build amd64 && !purego

package vaesgcm

import "golang.org/x/sys/cpu"

//go:generate sh -c "go run gen.go > gcm_amd64.s"

// ctr64 XORs the AES-CTR key stream from ctr (incremented in its last 32
// bits, big-endian) into n bytes of src, a multiple of 64 (gcm_amd64.s).
//
//go:noescape
func ctr64(rk *[240]byte, rounds int, ctr *[16]byte, dst, src *byte, n int)

// ghash folds n bytes of p, a multiple of 16, into acc (gcm_amd64.s).
//
//go:noescape
func ghash(htab *[512]byte, acc *[16]byte, p *byte, n int)

// subWord is AES's SubWord, by AESENCLAST (gcm_amd64.s).
func subWord(x uint32) uint32

var fast = cpu.X86.HasAVX512F && cpu.X86.HasAVX512BW && cpu.X86.HasAVX512VL &&
	cpu.X86.HasAVX512VAES && cpu.X86.HasAVX512VPCLMULQDQ && cpu.X86.HasAES && cpu.X86.HasPCLMULQDQ
