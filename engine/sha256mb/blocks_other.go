//go:build !amd64 || purego

package sha256mb

const useLanes = false

func blocks4(st *[Lanes][8]uint32, p0, p1, p2, p3 *byte, n int) {
	panic("sha256mb: no interleaved path here")
}
