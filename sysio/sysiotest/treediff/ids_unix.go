//go:build linux || darwin

package treediff

import (
	"io/fs"
	"syscall"
)

// StatIDs are the owner, the inode and the link count of fi (an lstat).
func StatIDs(fi fs.FileInfo) (uid, gid uint32, dev, ino, nlink uint64) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, 0, 0, 0, 0
	}
	return st.Uid, st.Gid, uint64(st.Dev), uint64(st.Ino), uint64(st.Nlink)
}
