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
	return Identity{
		Dev:    uint64(st.Dev), //nolint:unconvert // uint32 on some arches
		Ino:    uint64(st.Ino),
		Size:   st.Size,
		Mtime:  st.Mtim.Nano(),
		Ctime:  st.Ctim.Nano(),
		FSType: fsys.Type,
	}, true
}

func pathIdentity(path string) (Identity, bool) {
	var st unix.Stat_t
	var sfs unix.Statfs_t
	if ignoringEINTR(func() error { return unix.Lstat(path, &st) }) != nil || st.Mode&unix.S_IFMT != unix.S_IFREG {
		return Identity{}, false
	}
	if ignoringEINTR(func() error { return unix.Statfs(path, &sfs) }) != nil {
		return Identity{}, false
	}
	id := statIDOf(&st)
	id.FSType = fsTypeOf(&sfs)
	return id, true
}
