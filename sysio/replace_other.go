//go:build !linux

package sysio

import (
	"io/fs"
	"os"
	"path/filepath"
)

// On this platform a Replacement works with paths inside the directory's
// name: no reflinks, no copy_file_range (Fill reads and writes), and the
// directory is not fsynced after the rename.

func openOld(dir *os.File, name string) (*os.File, oldInfo, error) {
	path := filepath.Join(dir.Name(), name)
	fi, err := os.Lstat(path)
	if err != nil {
		return nil, oldInfo{}, err
	}
	if err := checkRegular(fi.Mode()); err != nil {
		return nil, oldInfo{}, err
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, oldInfo{}, err
	}
	if fi, err = f.Stat(); err != nil {
		f.Close()
		return nil, oldInfo{}, err
	}
	if err := checkRegular(fi.Mode()); err != nil {
		f.Close()
		return nil, oldInfo{}, err
	}
	return f, oldInfo{size: fi.Size(), perm: fi.Mode().Perm()}, nil
}

func checkRegular(m fs.FileMode) error {
	switch {
	case m.IsRegular():
		return nil
	case m&fs.ModeSymlink != 0:
		return &kindError{"a symbolic link: an atomic replacement would replace the link itself; name the file it points to", ErrSymlink}
	case m&fs.ModeDevice != 0:
		return &kindError{"a device: only a regular file can be replaced atomically", ErrNotRegular}
	case m.IsDir():
		return &kindError{"a directory", ErrNotRegular}
	}
	return &kindError{"not a regular file", ErrNotRegular}
}

func createAt(dir *os.File, name string, perm os.FileMode) (*os.File, error) {
	return os.OpenFile(filepath.Join(dir.Name(), name), os.O_RDWR|os.O_CREATE|os.O_EXCL, perm.Perm())
}

func chownLike(f *os.File, info oldInfo) {}

func unlinkAt(dir *os.File, name string) error { return os.Remove(filepath.Join(dir.Name(), name)) }

func renameAt(dir *os.File, from, to string) error {
	return os.Rename(filepath.Join(dir.Name(), from), filepath.Join(dir.Name(), to))
}

func syncDir(dir *os.File) error { return nil }

func cloneFile(dst, src *os.File) error { return ErrNotSupported }

func copyFileRange(dst, src *os.File, off, n int64) (int64, error) { return 0, ErrNotSupported }
