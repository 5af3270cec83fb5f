//go:build linux || darwin

package sysio

import (
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// Lutimes sets the access and modification times of path to t without
// following a final symlink (utimensat with AT_SYMLINK_NOFOLLOW): a tree
// sync gives symlinks and directories the source's mtime by name.
func Lutimes(path string, t time.Time) error {
	ts := unix.NsecToTimespec(t.UnixNano())
	err := ignoringEINTR(func() error {
		return unix.UtimesNanoAt(unix.AT_FDCWD, path, []unix.Timespec{ts, ts}, unix.AT_SYMLINK_NOFOLLOW)
	})
	if err != nil {
		return &os.PathError{Op: "utimensat", Path: path, Err: err}
	}
	return nil
}

// Mknod creates the device node path with the permission and kind bits of
// mode (unix S_IF* and permission bits) and device number rdev (root only).
func Mknod(path string, mode uint32, rdev uint64) error {
	err := ignoringEINTR(func() error { return unix.Mknod(path, mode, int(rdev)) })
	if err != nil {
		return &os.PathError{Op: "mknod", Path: path, Err: err}
	}
	return nil
}
