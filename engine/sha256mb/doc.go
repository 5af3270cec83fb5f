// Package sha256mb computes SHA-256 of several messages at once.
//
// Each result is exactly crypto/sha256.Sum256 of its message. On amd64
// with the SHA extensions, four messages are hashed together, their
// rounds interleaved: one message alone is bound by the latency of the
// round instruction (each pair of rounds waits for the last), so several
// in flight use more of the unit's throughput. Elsewhere, and when there
// is one message, it is crypto/sha256, one message after the other.
//
// Measured on an AMD EPYC (Zen 5, "Turin-like" VM), Go 1.26, 2026-12-02:
// SHA256RNDS2 has a latency of 1.22-1.27 ns here and a throughput of one
// per 0.61-0.63 ns (four or six independent chains), so one message runs
// at 1.60-1.68 GB/s (crypto/sha256) and at most 3.3 GB/s is possible per
// core; four lanes reach 3.06-3.16 GB/s on 1 MiB messages and 2.8-2.9 on
// 4 KiB ones (BenchmarkSum256), 1.8-1.9 times crypto/sha256.
//
// Sixteen messages at once with AVX-512 (one 32-bit word of every lane per
// register, VPRORD and VPTERNLOGD for the rotations and the three-input
// functions, the rounds' dependencies ordered so the chain from e to the
// next e is four instructions) was written and measured on the same VM
// on 2026-12-02: 2.9-3.0 GB/s on 1 MiB messages, 2.8 on 4 KiB, no faster
// than four lanes of SHA256RNDS2 (3.0-3.25 in the same runs), and it
// needs sixteen messages in flight: not kept.
//
// The assembly is generated: go generate (gen.go writes blocks_amd64.s).
package sha256mb
