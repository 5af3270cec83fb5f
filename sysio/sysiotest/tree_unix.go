//go:build linux || darwin

package sysiotest

import (
	"io/fs"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

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
