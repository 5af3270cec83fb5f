//go:build amd64 && !purego

package sha256mb

import (
	"os"

	"golang.org/x/sys/cpu"
)

//go:generate sh -c "go run gen.go > blocks_amd64.s"

// blocks4 runs the compression function over n 64-byte blocks of each of
// four messages, st[i] the state of the message at pi (blocks_amd64.s).
//
//go:noescape
func blocks4(st *[Lanes][8]uint32, p0, p1, p2, p3 *byte, n int)

func cpuid(leaf, sub uint32) (a, b, c, d uint32)

// useLanes: the SHA extensions (CPUID 7.0 EBX bit 29), SSSE3 (1 ECX bit
// 9, for PSHUFB and PALIGNR) and AVX (with the OS's support: blocks4
// starts with VZEROUPPER, and Go's own SHA-NI path asks for AVX too),
// unless GODEBUG turns off Go's own use of them (cpu.sha=off or
// cpu.all=off), so that one switch measures both without SHA-NI.
var useLanes = func() bool {
	if godebugOff(os.Getenv("GODEBUG")) || !cpu.X86.HasAVX || !cpu.X86.HasSSSE3 {
		return false
	}
	if max, _, _, _ := cpuid(0, 0); max < 7 {
		return false
	}
	_, b7, _, _ := cpuid(7, 0)
	return b7&(1<<29) != 0
}()
