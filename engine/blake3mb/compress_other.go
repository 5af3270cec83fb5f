//go:build !amd64 || purego

package blake3mb

const fast = false

func compress16(a *args) { panic("blake3mb: no sixteen-lane path here") }
