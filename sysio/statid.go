package sysio

import (
	"io/fs"
	"os"
)

// Filesystem is the filesystem a directory is on: its device number and
// statfs type, what a regular file's Identity takes from fstatfs.
type Filesystem struct {
	Dev  uint64
	Type uint64
}

// DirFilesystem describes the filesystem holding the open directory dir.
func DirFilesystem(dir *os.File) (Filesystem, error) { return dirFilesystem(dir) }

// StatIdentity is the Identity of the regular file that fi (an lstat of a
// name in a directory on fsys) describes: the fields File.Identity takes
// from fstat and fstatfs, without opening the file, and of the same
// moment as fi. ok is false for anything but a regular file, a file on
// another device than fsys (a mount point), or where the platform has no
// such identity.
func StatIdentity(fi fs.FileInfo, fsys Filesystem) (id Identity, ok bool) {
	if !fi.Mode().IsRegular() {
		return Identity{}, false
	}
	return statIdentity(fi, fsys)
}

// PathIdentity is the Identity of the regular file path names (never
// following a final symlink), from an lstat and a statfs of path: what
// File.Identity takes, without opening the file (which for a name that
// became a FIFO meanwhile could block). ok is false for anything but a
// regular file, or where the platform has no such identity.
func PathIdentity(path string) (id Identity, ok bool) { return pathIdentity(path) }
