//go:build linux

package sysio

import (
	"errors"
	"os"
	"runtime"

	"golang.org/x/sys/unix"
)

// openOld opens name in dir for reading, refusing a symbolic link and
// anything but a regular file. A missing name is an os.ErrNotExist.
func openOld(dir *os.File, name string) (*os.File, oldInfo, error) {
	dfd := rawFd(dir)
	defer runtime.KeepAlive(dir)
	var st unix.Stat_t
	err := ignoringEINTR(func() error { return unix.Fstatat(dfd, name, &st, unix.AT_SYMLINK_NOFOLLOW) })
	if err != nil {
		return nil, oldInfo{}, &os.PathError{Op: "stat", Path: name, Err: err}
	}
	if err := checkRegular(st.Mode); err != nil {
		return nil, oldInfo{}, err
	}
	var fd int
	err = ignoringEINTR(func() (err error) {
		fd, err = unix.Openat(dfd, name, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
		return err
	})
	if err != nil {
		return nil, oldInfo{}, &os.PathError{Op: "open", Path: name, Err: err}
	}
	if err := unix.Fstat(fd, &st); err != nil {
		unix.Close(fd)
		return nil, oldInfo{}, &os.PathError{Op: "stat", Path: name, Err: err}
	}
	if err := checkRegular(st.Mode); err != nil { // replaced since the lstat
		unix.Close(fd)
		return nil, oldInfo{}, err
	}
	info := oldInfo{
		size: st.Size, perm: os.FileMode(st.Mode & 0o777),
		dev: st.Dev, ino: st.Ino, uid: int(st.Uid), gid: int(st.Gid),
	}
	return os.NewFile(uintptr(fd), name), info, nil
}

// checkRegular refuses every kind of file but a regular one.
func checkRegular(mode uint32) error {
	switch mode & unix.S_IFMT {
	case unix.S_IFREG:
		return nil
	case unix.S_IFLNK:
		return &kindError{"a symbolic link: an atomic replacement would replace the link itself; name the file it points to", ErrSymlink}
	case unix.S_IFBLK:
		return &kindError{"a block device: only a regular file can be replaced atomically", ErrNotRegular}
	case unix.S_IFDIR:
		return &kindError{"a directory", ErrNotRegular}
	}
	return &kindError{"not a regular file", ErrNotRegular}
}

// createAt creates name in dir, exclusively, never through a link.
func createAt(dir *os.File, name string, perm os.FileMode) (*os.File, error) {
	dfd := rawFd(dir)
	defer runtime.KeepAlive(dir)
	var fd int
	err := ignoringEINTR(func() (err error) {
		fd, err = unix.Openat(dfd, name, unix.O_RDWR|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, uint32(perm.Perm()))
		return err
	})
	if err != nil {
		return nil, &os.PathError{Op: "create", Path: name, Err: err}
	}
	return os.NewFile(uintptr(fd), name), nil
}

// chownLike gives f the old file's owner when running as root; best effort.
func chownLike(f *os.File, info oldInfo) {
	if os.Geteuid() != 0 {
		return
	}
	f.Chown(info.uid, info.gid)
}

func unlinkAt(dir *os.File, name string) error {
	err := ignoringEINTR(func() error { return unix.Unlinkat(rawFd(dir), name, 0) })
	runtime.KeepAlive(dir)
	if err != nil {
		return &os.PathError{Op: "unlink", Path: name, Err: err}
	}
	return nil
}

func renameAt(dir *os.File, from, to string) error {
	dfd := rawFd(dir)
	err := ignoringEINTR(func() error { return unix.Renameat(dfd, from, dfd, to) })
	runtime.KeepAlive(dir)
	if err != nil {
		return &os.LinkError{Op: "rename", Old: from, New: to, Err: err}
	}
	return nil
}

func syncDir(dir *os.File) error {
	err := ignoringEINTR(func() error { return unix.Fsync(rawFd(dir)) })
	runtime.KeepAlive(dir)
	if err == unix.EINVAL || unsupported(err) {
		return nil // a filesystem that cannot sync directories
	}
	if err != nil {
		return &os.PathError{Op: "fsync", Path: dir.Name(), Err: err}
	}
	return nil
}

// cloneFile makes dst a reflink clone of src (ioctl FICLONE); an error
// means the filesystem cannot, and the caller copies instead.
func cloneFile(dst, src *os.File) error {
	err := ignoringEINTR(func() error { return unix.IoctlFileClone(rawFd(dst), rawFd(src)) })
	runtime.KeepAlive(dst)
	runtime.KeepAlive(src)
	return err
}

// copyFileRange copies up to n bytes at off from src to dst at the same
// offset (copy_file_range). It returns ErrNotSupported where the kernel or
// the pair of filesystems cannot, and 0 at src's end.
func copyFileRange(dst, src *os.File, off, n int64) (int64, error) {
	roff, woff := off, off
	var done int
	err := ignoringEINTR(func() (err error) {
		done, err = unix.CopyFileRange(rawFd(src), &roff, rawFd(dst), &woff, int(n), 0)
		return err
	})
	runtime.KeepAlive(dst)
	runtime.KeepAlive(src)
	switch {
	case err == nil:
		return int64(done), nil
	case errors.Is(err, unix.EXDEV), errors.Is(err, unix.EINVAL), errors.Is(err, unix.EBADF), unsupported(err):
		return 0, ErrNotSupported
	}
	return 0, &os.PathError{Op: "copy_file_range", Path: dst.Name(), Err: err}
}
