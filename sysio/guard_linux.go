//go:build linux

package sysio

import (
	"errors"
	"os"

	"golang.org/x/sys/unix"
)

func linkCount(f *os.File) (uint64, error) {
	var st unix.Stat_t
	err := ignoringEINTR(func() error { return unix.Fstat(rawFd(f), &st) })
	if err != nil {
		return 0, &os.PathError{Op: "fstat", Path: f.Name(), Err: err}
	}
	return uint64(st.Nlink), nil
}

func fsSpace(f *os.File) (Space, error) {
	var st unix.Statfs_t
	err := ignoringEINTR(func() error { return unix.Fstatfs(rawFd(f), &st) })
	if err != nil {
		return Space{}, &os.PathError{Op: "fstatfs", Path: f.Name(), Err: err}
	}
	bs := uint64(st.Bsize)
	return Space{Total: st.Blocks * bs, Avail: st.Bavail * bs}, nil
}

func flock(f *os.File, exclusive, wait bool) error {
	how := unix.LOCK_SH
	if exclusive {
		how = unix.LOCK_EX
	}
	if !wait {
		how |= unix.LOCK_NB
	}
	err := ignoringEINTR(func() error { return unix.Flock(rawFd(f), how) })
	if err == unix.EWOULDBLOCK {
		return ErrLocked
	}
	if err == unix.ENOLCK || err == unix.EOPNOTSUPP || err == unix.ENOSYS {
		return ErrNotSupported
	}
	if err != nil {
		return &os.PathError{Op: "flock", Path: f.Name(), Err: err}
	}
	return nil
}

func funlock(f *os.File) error {
	return ignoringEINTR(func() error { return unix.Flock(rawFd(f), unix.LOCK_UN) })
}

func removeAt(dir *os.File, name string, f *os.File) error {
	var want, got unix.Stat_t
	if err := ignoringEINTR(func() error { return unix.Fstat(rawFd(f), &want) }); err != nil {
		return &os.PathError{Op: "fstat", Path: f.Name(), Err: err}
	}
	err := ignoringEINTR(func() error { return unix.Fstatat(rawFd(dir), name, &got, unix.AT_SYMLINK_NOFOLLOW) })
	if err != nil {
		return &os.PathError{Op: "stat", Path: name, Err: err}
	}
	if got.Dev != want.Dev || got.Ino != want.Ino {
		return &os.PathError{Op: "remove", Path: name, Err: errors.New("replaced by another file meanwhile")}
	}
	return unlinkAt(dir, name)
}
