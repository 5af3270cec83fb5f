//go:build darwin

package sysio

import (
	"os"
	"runtime"

	"golang.org/x/sys/unix"
)

// allocate reserves space with F_PREALLOCATE (contiguous first, then any)
// and extends the size to off+length like Linux fallocate mode 0.
// Unsupported is a soft failure (nil, size unchanged).
func allocate(f *os.File, off, length int64) error {
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	end := off + length
	if end <= fi.Size() {
		return nil
	}
	fst := unix.Fstore_t{
		Flags:   unix.F_ALLOCATECONTIG | unix.F_ALLOCATEALL,
		Posmode: unix.F_PEOFPOSMODE,
		Length:  end - fi.Size(),
	}
	err = ignoringEINTR(func() error { return unix.FcntlFstore(f.Fd(), unix.F_PREALLOCATE, &fst) })
	if err != nil {
		fst.Flags = unix.F_ALLOCATEALL
		err = ignoringEINTR(func() error { return unix.FcntlFstore(f.Fd(), unix.F_PREALLOCATE, &fst) })
	}
	runtime.KeepAlive(f)
	if err == unix.ENOTSUP || err == unix.EOPNOTSUPP {
		return nil
	}
	if err != nil {
		return &os.PathError{Op: "fcntl F_PREALLOCATE", Path: f.Name(), Err: err}
	}
	return f.Truncate(end)
}

// punchHole is not implemented on Darwin.
func punchHole(f *os.File, off, length int64) error { return ErrNotSupported }

// ignoringEINTR calls fn until it returns something other than EINTR.
func ignoringEINTR(fn func() error) error {
	for {
		if err := fn(); err != unix.EINTR {
			return err
		}
	}
}
