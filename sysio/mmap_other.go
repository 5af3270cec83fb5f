//go:build !linux

package sysio

import "os"

var pageSize = int64(os.Getpagesize())

// mapRead is not implemented off Linux: callers read with ReadAt.
func mapRead(f *os.File, off int64, n int) ([]byte, error) { return nil, ErrNotSupported }

func unmap(mem []byte) error { return nil }
