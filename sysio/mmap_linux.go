//go:build linux

package sysio

import (
	"os"
	"runtime"
	"unsafe"

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

// residentPages maps n bytes of f and counts the pages that are in the
// page cache (mincore).
func residentPages(f *os.File, n int64) (int64, error) {
	mem, err := unix.Mmap(rawFd(f), 0, int(n), unix.PROT_READ, unix.MAP_SHARED)
	runtime.KeepAlive(f)
	if err != nil {
		return 0, err
	}
	defer unix.Munmap(mem)
	vec := make([]byte, (int64(len(mem))+pageSize-1)/pageSize)
	_, _, errno := unix.Syscall(unix.SYS_MINCORE, uintptr(unsafe.Pointer(&mem[0])), uintptr(len(mem)), uintptr(unsafe.Pointer(&vec[0])))
	if errno != 0 {
		return 0, errno
	}
	var c int64
	for _, v := range vec {
		c += int64(v & 1)
	}
	return c, nil
}
