//go:build linux

package sysio

import (
	"os"
	"runtime"

	"golang.org/x/sys/unix"
)

var pageSize = int64(os.Getpagesize())

// mapRead maps n bytes of f from the page-aligned offset off, shared and
// read-only, and asks for sequential read-ahead. Pages are faulted in as
// they are touched, so the holes of a sparse file that are never read cost
// nothing.
func mapRead(f *os.File, off int64, n int) ([]byte, error) {
	mem, err := unix.Mmap(rawFd(f), off, n, unix.PROT_READ, unix.MAP_SHARED)
	runtime.KeepAlive(f)
	if err != nil {
		if err == unix.ENODEV || err == unix.EACCES || err == unix.EINVAL {
			return nil, ErrNotSupported
		}
		return nil, err
	}
	_ = unix.Madvise(mem, unix.MADV_SEQUENTIAL)
	return mem, nil
}

func unmap(mem []byte) error { return unix.Munmap(mem) }
