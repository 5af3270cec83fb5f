//go:build linux

package sysio

import (
	"os"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

func identity(f *os.File, dev bool) (Identity, error) {
	var st syscall.Stat_t
	fd := rawFd(f)
	if err := ignoringEINTR(func() error { return syscall.Fstat(fd, &st) }); err != nil {
		return Identity{}, &os.PathError{Op: "fstat", Path: f.Name(), Err: err}
	}
	id := statIDOf(&st)
	if dev {
		size, err := deviceSize(f)
		if err != nil {
			return Identity{}, err
		}
		id.Dev, id.Ino, id.Size, id.Device = uint64(st.Rdev), 0, size, true
		return id, nil
	}
	var sfs unix.Statfs_t
	if err := ignoringEINTR(func() error { return unix.Fstatfs(fd, &sfs) }); err != nil {
		return Identity{}, &os.PathError{Op: "fstatfs", Path: f.Name(), Err: err}
	}
	id.FSType = fsTypeOf(&sfs)
	return id, nil
}

// statIDOf is the Identity of a file as st gives it, without FSType: the
// one place a stat becomes an identity, so that an identity taken through
// a descriptor (identity), through a path (pathIdentity) and from a
// directory listing's lstat (statIdentity) compare equal for the same
// file. It takes syscall's Stat_t, the one os.FileInfo carries.
func statIDOf(st *syscall.Stat_t) Identity {
	return Identity{
		Dev:   uint64(st.Dev), //nolint:unconvert // uint32 on some arches
		Ino:   uint64(st.Ino),
		Size:  st.Size,
		Mtime: st.Mtim.Nano(),
		Ctime: st.Ctim.Nano(),
	}
}

// fsTypeOf is sfs's f_type, a signed word on some arches.
func fsTypeOf(sfs *unix.Statfs_t) uint64 { return uint64(uint32(sfs.Type)) }

func coarseNow() int64 {
	var ts unix.Timespec
	if unix.ClockGettime(unix.CLOCK_REALTIME_COARSE, &ts) != nil {
		return time.Now().UnixNano()
	}
	return ts.Nano()
}

func timestampGranularity() time.Duration {
	var ts unix.Timespec
	if unix.ClockGetres(unix.CLOCK_REALTIME_COARSE, &ts) != nil || ts.Nano() <= 0 {
		return 10 * time.Millisecond // the coarsest tick Linux has (HZ=100)
	}
	return time.Duration(ts.Nano())
}

func syncFS(f *os.File) error {
	fd := rawFd(f)
	err := ignoringEINTR(func() error { return unix.Syncfs(fd) })
	if err != nil {
		return &os.PathError{Op: "syncfs", Path: f.Name(), Err: err}
	}
	return nil
}

const hasSyncFS = true
