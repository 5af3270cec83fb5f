//go:build linux

package sysio

import (
	"io"
	"os"
	"runtime"

	"golang.org/x/sys/unix"
)

// seekDataHole is lseek(SEEK_DATA or SEEK_HOLE) on f's descriptor. It
// returns (-1, io.EOF) on ENXIO (nothing at or after off) and
// (-1, ErrNotSupported) when the kernel or filesystem rejects the whence.
func seekDataHole(f *os.File, off int64, hole bool) (int64, error) {
	whence := unix.SEEK_DATA
	if hole {
		whence = unix.SEEK_HOLE
	}
	fd := rawFd(f)
	var pos int64
	err := ignoringEINTR(func() (err error) {
		pos, err = unix.Seek(fd, off, whence)
		return err
	})
	runtime.KeepAlive(f)
	switch {
	case err == nil:
		return pos, nil
	case err == unix.ENXIO:
		return -1, io.EOF
	case err == unix.EINVAL || unsupported(err):
		return -1, ErrNotSupported
	}
	return -1, &os.PathError{Op: "lseek", Path: f.Name(), Err: err}
}
