//go:build unix

package sysio

import (
	"os"
	"syscall"
)

// Owner returns the file's owner and group.
func (f *File) Owner() (uid, gid uint32, err error) {
	fi, err := f.f.Stat()
	if err != nil {
		return 0, 0, err
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return st.Uid, st.Gid, nil
	}
	return 0, 0, ErrNotSupported
}

// Chown gives the file the owner and group (root only, as chown(2)).
func (f *File) Chown(uid, gid uint32) error { return f.f.Chown(int(uid), int(gid)) }

// CanChown reports whether this process may give files away (it is root).
func CanChown() bool { return os.Geteuid() == 0 }
