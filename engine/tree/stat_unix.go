//go:build unix

package tree

import (
	"io/fs"
	"syscall"
)

// sysStat fills the fields only the platform's stat has.
func sysStat(fi fs.FileInfo, e *Entry) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return
	}
	e.Uid, e.Gid = st.Uid, st.Gid
	e.Nlink = uint64(st.Nlink)
	e.Dev, e.Ino, e.Rdev = uint64(st.Dev), uint64(st.Ino), uint64(st.Rdev)
}

// unixMode is m as mknod(2) wants it: the kind and permission bits.
func unixMode(m fs.FileMode) uint32 {
	u := uint32(m.Perm())
	if m&fs.ModeCharDevice != 0 {
		return u | syscall.S_IFCHR
	}
	return u | syscall.S_IFBLK
}
