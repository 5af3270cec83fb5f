//go:build !linux

package sysio

import "os"

// MknodAt is not supported here.
func MknodAt(dir *os.File, name string, mode uint32, rdev uint64) error { return ErrNotSupported }
