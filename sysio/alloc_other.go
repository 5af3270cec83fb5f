//go:build !linux && !darwin

package sysio

import "os"

// allocate: no preallocation on this platform (soft failure).
func allocate(f *os.File, off, length int64) error { return nil }

// punchHole: not supported on this platform.
func punchHole(f *os.File, off, length int64) error { return ErrNotSupported }
