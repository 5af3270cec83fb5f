//go:build linux

package sysio

import (
	"os"
	"runtime"

	"golang.org/x/sys/unix"
)

func unsupported(err error) bool {
	return err == unix.ENOTSUP || err == unix.EOPNOTSUPP || err == unix.ENOSYS
}

// allocate reserves [off, off+length) with fallocate mode 0, extending the
// size; unsupported is a soft failure (nil).
func allocate(f *os.File, off, length int64) error {
	fd := rawFd(f)
	err := ignoringEINTR(func() error { return unix.Fallocate(fd, 0, off, length) })
	runtime.KeepAlive(f)
	if err == nil || unsupported(err) {
		return nil
	}
	return &os.PathError{Op: "fallocate", Path: f.Name(), Err: err}
}

// punchHole deallocates [off, off+length) keeping the size, or returns
// ErrNotSupported.
func punchHole(f *os.File, off, length int64) error {
	fd := rawFd(f)
	const mode = unix.FALLOC_FL_PUNCH_HOLE | unix.FALLOC_FL_KEEP_SIZE
	err := ignoringEINTR(func() error { return unix.Fallocate(fd, mode, off, length) })
	runtime.KeepAlive(f)
	switch {
	case err == nil:
		return nil
	case unsupported(err):
		return ErrNotSupported
	}
	return &os.PathError{Op: "fallocate punch hole", Path: f.Name(), Err: err}
}
