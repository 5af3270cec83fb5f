//go:build linux

package sysio

import (
	"io/fs"
	"os"
	"runtime"
	"syscall"

	"golang.org/x/sys/unix"
)

func dirFilesystem(dir *os.File) (Filesystem, error) {
	var st unix.Stat_t
	var sfs unix.Statfs_t
	fd := rawFd(dir)
	err := ignoringEINTR(func() error { return unix.Fstat(fd, &st) })
	if err == nil {
		err = ignoringEINTR(func() error { return unix.Fstatfs(fd, &sfs) })
	}
	runtime.KeepAlive(dir)
	if err != nil {
		return Filesystem{}, &os.PathError{Op: "fstatfs", Path: dir.Name(), Err: err}
	}
	return Filesystem{Dev: uint64(st.Dev), Type: fsTypeOf(&sfs)}, nil //nolint:unconvert // uint32 on some arches
}

func statIdentity(fi fs.FileInfo, fsys Filesystem) (Identity, bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok || uint64(st.Dev) != fsys.Dev { //nolint:unconvert // uint32 on some arches
		return Identity{}, false
	}
	id := statIDOf(st)
	id.FSType = fsys.Type
	return id, true
}

func pathIdentity(path string) (Identity, bool) {
	var st syscall.Stat_t
	var sfs unix.Statfs_t
	if ignoringEINTR(func() error { return syscall.Lstat(path, &st) }) != nil || st.Mode&syscall.S_IFMT != syscall.S_IFREG {
		return Identity{}, false
	}
	if ignoringEINTR(func() error { return unix.Statfs(path, &sfs) }) != nil {
		return Identity{}, false
	}
	id := statIDOf(&st)
	id.FSType = fsTypeOf(&sfs)
	return id, true
}
