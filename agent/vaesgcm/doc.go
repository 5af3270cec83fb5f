// Package vaesgcm is AES-GCM in four 128-bit lanes per AVX-512 register,
// with VAES and VPCLMULQDQ: the AEAD of TLS_AES_128_GCM_SHA256 and
// TLS_AES_256_GCM_SHA384, for the agent's TLS record layer (agent/tlsrec.go).
//
// It is the same AEAD as cipher.NewGCM over crypto/aes, byte for byte
// (the tests compare every length around its loops' edges, AD lengths,
// key sizes, in-place use, tampering and a counter that wraps, and a fuzz
// target compares random input), so a peer that seals with crypto/tls reads
// its records and the other way round. Only the speed differs: Go's
// crypto/aes (go1.26) has AES-NI and PCLMULQDQ on one 128-bit block at a
// time.
//
// Measured on the 2-core AMD EPYC (Zen 5) VM of the bench, one goroutine,
// a TLS record (16385 bytes, 5 bytes of AD): Seal and Open 14.7-15.0 GB/s,
// against 5.3-5.8 GB/s for crypto/cipher's GCM. A record is two passes
// over data in the L1 cache: the counter-mode pass alone runs at 42 GB/s,
// GHASH at 26 GB/s. GHASH is a chain through its accumulator; a step of 32
// blocks reduces once (16 blocks a step: 18 GB/s).
//
// Where the CPU lacks any of AVX-512F, BW, VL, VAES or VPCLMULQDQ (or with
// GODEBUG=cpu.avx512f=off), Available is false and the record layer uses
// crypto/cipher as before. Key expansion takes SubWord from AESENCLAST,
// not from a table indexed by the key, and the tag is compared in constant
// time; nothing here branches on or indexes by secret data.
//
// Measured only on Zen 5 here. On Intel server CPUs before Sapphire Rapids,
// 512-bit instructions lower the core's clock a little while they run;
// GODEBUG=cpu.avx512f=off is the switch where that costs more than the
// faster AEAD saves (engine/blake3mb's lanes are 512 bits wide too).
//
// gcm_amd64.s is generated: go run gen.go > gcm_amd64.s.
package vaesgcm
