//go:build linux

package sysio

import (
	"os"
	"runtime"
	"unsafe"

	"golang.org/x/sys/unix"
)

// deviceSize returns the size of the block device f with ioctl
// BLKGETSIZE64 (stat reports 0 for block devices).
func deviceSize(f *os.File) (int64, error) {
	var sz uint64
	fd := f.Fd()
	err := ignoringEINTR(func() error {
		_, _, e := unix.Syscall(unix.SYS_IOCTL, fd, unix.BLKGETSIZE64, uintptr(unsafe.Pointer(&sz)))
		if e != 0 {
			return e
		}
		return nil
	})
	runtime.KeepAlive(f)
	if err != nil {
		return 0, &os.PathError{Op: "ioctl BLKGETSIZE64", Path: f.Name(), Err: err}
	}
	return int64(sz), nil
}
