//go:build amd64 && !purego

package blake3mb

import "golang.org/x/sys/cpu"

//go:generate sh -c "go run gen.go > compress_amd64.s"

// compress16 runs the compression function in sixteen lanes over a.n
// blocks of 64 bytes each (compress_amd64.s); see args.
//
//go:noescape
func compress16(a *args)

// fast: AVX-512F with the OS's support for its registers.
var fast = cpu.X86.HasAVX512F
