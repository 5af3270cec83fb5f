//go:build !linux

package sysio

import "os"

// seekDataHole: SEEK_DATA/SEEK_HOLE are not used on this platform; the
// caller treats the whole file as data.
func seekDataHole(f *os.File, off int64, hole bool) (int64, error) {
	return -1, ErrNotSupported
}
