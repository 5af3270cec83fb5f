//go:build linux || darwin

package sysiotest

import (
	"io/fs"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// statIDs are the owner, the inode and the link count of fi (an lstat).
func statIDs(fi fs.FileInfo) (uid, gid uint32, dev, ino, nlink uint64) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, 0, 0, 0, 0
	}
	return st.Uid, st.Gid, uint64(st.Dev), uint64(st.Ino), uint64(st.Nlink)
}

// lchtimes sets the access and modification times of path without
// following a symlink.
func lchtimes(path string, mtime time.Time) error {
	ts := unix.NsecToTimespec(mtime.UnixNano())
	return unix.UtimesNanoAt(unix.AT_FDCWD, path, []unix.Timespec{ts, ts}, unix.AT_SYMLINK_NOFOLLOW)
}

// allocated is the bytes of disk fi's file holds (-1: unknown).
func allocated(fi fs.FileInfo) int64 {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return int64(st.Blocks) * 512
	}
	return -1
}
