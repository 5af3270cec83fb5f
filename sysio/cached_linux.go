//go:build linux

package sysio

import (
	"os"
	"runtime"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"
)

// noNowait is set once the kernel or filesystem refuses RWF_NOWAIT reads.
var noNowait atomic.Bool

// preadCached reads into p from off what the page cache already holds,
// as one raw preadv2(RWF_NOWAIT): it never waits for the disk, and as a
// raw system call it keeps the goroutine's P. A blocking pread of 1 MiB
// takes longer than the Go scheduler's monitor tick, which then hands the
// P to another thread, and keeps ticking every 20 µs while that goes on:
// thread switches that cost a few percent of a hashing pass's CPU on
// this VM (doc.go). It returns the bytes read, short or 0 when the cache
// lacks some (the caller preads the rest as usual).
func preadCached(f *os.File, p []byte, off int64) int {
	if len(p) == 0 || noNowait.Load() {
		return 0
	}
	rc, err := f.SyscallConn()
	if err != nil {
		return 0
	}
	iov := unix.Iovec{Base: &p[0]}
	iov.SetLen(len(p))
	var n uintptr
	var errno unix.Errno
	// Control holds the descriptor for the call: a concurrent Close waits,
	// so the number cannot be reused for another file meanwhile.
	if rc.Control(func(fd uintptr) {
		n, _, errno = unix.RawSyscall6(unix.SYS_PREADV2, fd, uintptr(unsafe.Pointer(&iov)), 1, uintptr(off), 0, unix.RWF_NOWAIT)
	}) != nil {
		return 0
	}
	runtime.KeepAlive(p)
	switch errno {
	case 0:
		return int(n)
	case unix.EOPNOTSUPP, unix.EINVAL, unix.ENOSYS:
		noNowait.Store(true)
	}
	return 0
}
