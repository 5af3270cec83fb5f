//go:build linux

package agent

import (
	"errors"
	"fmt"
	"os"
	"path"
	"strings"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// jail holds an O_PATH descriptor of the root; every open is relative to it.
type jail struct {
	root         string
	dirfd        int
	allowDevices bool
	noOpenat2    atomic.Bool // set once openat2 reported ENOSYS (or by tests)
}

func newJail(root string, allowDevices bool) (*jail, error) {
	fd, err := unix.Open(root, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("agent: root: %w", &os.PathError{Op: "open", Path: root, Err: err})
	}
	return &jail{root: root, dirfd: fd, allowDevices: allowDevices}, nil
}

func (j *jail) close() error { return unix.Close(j.dirfd) }

// open opens rel, a cleanRelPath result, beneath the root and checks its kind.
func (j *jail) open(rel string, mode openMode) (*os.File, fileKey, error) {
	flags := unix.O_NONBLOCK | unix.O_NOCTTY | unix.O_CLOEXEC
	var perm uint32
	switch mode {
	case openRead:
		flags |= unix.O_RDONLY
	case openWrite:
		flags |= unix.O_RDWR
	case openCreate:
		flags |= unix.O_RDWR | unix.O_CREAT
		perm = 0o644
	case openCreateNew:
		flags |= unix.O_RDWR | unix.O_CREAT | unix.O_EXCL
		perm = 0o644
	}
	// Look before opening: an O_PATH descriptor opens nothing (a device's
	// driver never sees it), so a character device, a FIFO or a socket is
	// refused without being opened for reading or writing.
	pre, err := j.lookKind(rel)
	if err != nil {
		return nil, fileKey{}, jailOpenError(rel, mode, err)
	}
	if pre != nil {
		if err := checkKind(rel, kindOf(pre.Mode), j.allowDevices); err != nil {
			return nil, fileKey{}, err
		}
	}
	fd, err := j.openat(rel, flags, perm)
	if err != nil {
		return nil, fileKey{}, jailOpenError(rel, mode, err)
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		unix.Close(fd)
		return nil, fileKey{}, jailOpenError(rel, mode, err)
	}
	// Checked again on what was opened: the name may have changed between.
	if err := checkKind(rel, kindOf(st.Mode), j.allowDevices); err != nil {
		unix.Close(fd)
		return nil, fileKey{}, err
	}
	// O_NONBLOCK only guarded the open against FIFOs; do blocking I/O.
	if err := unix.SetNonblock(fd, false); err != nil {
		unix.Close(fd)
		return nil, fileKey{}, jailOpenError(rel, mode, err)
	}
	return os.NewFile(uintptr(fd), rel), fileKey{dev: st.Dev, ino: st.Ino}, nil
}

// lookKind stats rel beneath the root through an O_PATH descriptor; nil,
// nil when it does not exist.
func (j *jail) lookKind(rel string) (*unix.Stat_t, error) {
	fd, err := j.openat(rel, unix.O_PATH|unix.O_CLOEXEC, 0)
	if err == unix.ENOENT {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return nil, err
	}
	return &st, nil
}

// parentExists reports whether rel's directory exists inside the root.
func (j *jail) parentExists(rel string) error {
	dir := path.Dir(rel)
	if dir == "." {
		return nil
	}
	fd, err := j.openat(dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return jailOpenError(rel, openCreate, err)
	}
	return unix.Close(fd)
}

// openat resolves rel beneath the root: openat2 where the kernel has it,
// else walkOpen.
func (j *jail) openat(rel string, flags int, perm uint32) (int, error) {
	if !j.noOpenat2.Load() {
		how := &unix.OpenHow{
			Flags:   uint64(flags),
			Mode:    uint64(perm),
			Resolve: unix.RESOLVE_BENEATH | unix.RESOLVE_NO_MAGICLINKS,
		}
		for try := 0; ; try++ {
			fd, err := unix.Openat2(j.dirfd, rel, how)
			// EAGAIN: a concurrent rename or mount was seen; EINTR: a signal.
			if (err == unix.EAGAIN || err == unix.EINTR) && try < 16 {
				continue
			}
			if err != unix.ENOSYS {
				return fd, err
			}
			break
		}
		j.noOpenat2.Store(true)
	}
	return j.walkOpen(rel, flags, perm)
}

// walkOpen opens rel one component at a time with O_NOFOLLOW, refusing every
// symbolic link (also those that would stay inside the root): without
// openat2 that is the only race-free way to stay beneath it. rel has no ".."
// or "." components.
func (j *jail) walkOpen(rel string, flags int, perm uint32) (int, error) {
	parts := strings.Split(rel, "/")
	dfd, own := j.dirfd, false
	defer func() {
		if own {
			unix.Close(dfd)
		}
	}()
	for _, name := range parts[:len(parts)-1] {
		fd, err := openatRetry(dfd, name, unix.O_PATH|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		if err == unix.ENOTDIR && isSymlinkAt(dfd, name) {
			err = errSymlinkRefused
		}
		if err != nil {
			return -1, err
		}
		if own {
			unix.Close(dfd)
		}
		dfd, own = fd, true
	}
	last := parts[len(parts)-1]
	fd, err := openatRetry(dfd, last, flags|unix.O_NOFOLLOW, perm)
	if err == unix.ELOOP || (err == unix.ENOTDIR && isSymlinkAt(dfd, last)) {
		err = errSymlinkRefused
	}
	return fd, err
}

func openatRetry(dfd int, name string, flags int, perm uint32) (int, error) {
	for {
		fd, err := unix.Openat(dfd, name, flags, perm)
		if !errors.Is(err, unix.EINTR) {
			return fd, err
		}
	}
}

func isSymlinkAt(dfd int, name string) bool {
	var st unix.Stat_t
	return unix.Fstatat(dfd, name, &st, unix.AT_SYMLINK_NOFOLLOW) == nil && st.Mode&unix.S_IFMT == unix.S_IFLNK
}

func kindOf(mode uint32) fileKind {
	switch mode & unix.S_IFMT {
	case unix.S_IFREG:
		return kindRegular
	case unix.S_IFDIR:
		return kindDir
	case unix.S_IFBLK:
		return kindBlockDevice
	case unix.S_IFCHR:
		return kindCharDevice
	case unix.S_IFIFO:
		return kindFIFO
	case unix.S_IFSOCK:
		return kindSocket
	case unix.S_IFLNK:
		return kindSymlink
	}
	return kindOther
}
