//go:build linux

package sysio

import (
	"os"
	"runtime"
	"strconv"

	"golang.org/x/sys/unix"
)

// Raw transfer functions of the O_DIRECT descriptor; tests replace them to
// simulate a filesystem that refuses O_DIRECT transfers.
var (
	directPread   = unix.Pread
	directPwrite  = unix.Pwrite
	directPwritev = unix.Pwritev
)

// ignoringEINTR calls fn until it returns something other than EINTR.
func ignoringEINTR(fn func() error) error {
	for {
		if err := fn(); err != unix.EINTR {
			return err
		}
	}
}

func rawFd(f *os.File) int { return int(f.Fd()) }

// openDirect opens a second, O_DIRECT descriptor for the inode behind f,
// with f's access mode, through /proc/self/fd/N or else path. It returns
// nil when the filesystem refuses O_DIRECT or the result is not the same
// inode (path replaced meanwhile).
func openDirect(f *os.File, path string) *os.File {
	fd := rawFd(f)
	defer runtime.KeepAlive(f)
	fl, err := unix.FcntlInt(uintptr(fd), unix.F_GETFL, 0)
	if err != nil || fl&unix.O_PATH != 0 {
		return nil
	}
	var want unix.Stat_t
	if ignoringEINTR(func() error { return unix.Fstat(fd, &want) }) != nil {
		return nil
	}
	flags := fl&unix.O_ACCMODE | unix.O_DIRECT | unix.O_CLOEXEC
	for _, p := range []string{"/proc/self/fd/" + strconv.Itoa(fd), path} {
		if p == "" {
			continue
		}
		var dfd int
		err := ignoringEINTR(func() (err error) {
			dfd, err = unix.Open(p, flags, 0)
			return err
		})
		if err == unix.EINVAL {
			return nil // the filesystem refuses O_DIRECT
		}
		if err != nil {
			continue
		}
		var st unix.Stat_t
		if unix.Fstat(dfd, &st) != nil || st.Dev != want.Dev || st.Ino != want.Ino {
			unix.Close(dfd)
			continue
		}
		return os.NewFile(uintptr(dfd), f.Name())
	}
	return nil
}

// isWritable reports whether f was opened for writing.
func isWritable(f *os.File) bool {
	fl, err := unix.FcntlInt(f.Fd(), unix.F_GETFL, 0)
	runtime.KeepAlive(f)
	return err == nil && fl&unix.O_ACCMODE != unix.O_RDONLY
}

// preadDirect preads p (aligned address, offset and length) at off from
// the O_DIRECT descriptor fd, continuing while the position stays aligned.
// It stops early, without error, at end of file or after an unaligned
// short read; the caller finishes through the buffered descriptor. EINVAL
// becomes errDirectRefused.
func preadDirect(fd int, p []byte, off int64) (int, error) {
	return directLoop(directPread, fd, p, off)
}

// pwriteDirect is preadDirect for writes.
func pwriteDirect(fd int, p []byte, off int64) (int, error) {
	return directLoop(directPwrite, fd, p, off)
}

// pwritevDirect writes the buffers of bufs (each aligned in address and
// length) one after another from off (aligned) through the O_DIRECT
// descriptor fd, continuing short writes while the position stays
// aligned, as pwriteDirect does.
func pwritevDirect(fd int, bufs [][]byte, off int64) (int, error) {
	bufs = append([][]byte(nil), bufs...) // advanced below: the caller's stays whole
	total, at := 0, 0
	for _, b := range bufs {
		total += len(b)
	}
	return directSteps(total, func(n int) (int, error) {
		for skip := n - at; skip > 0; { // drop what the last step wrote
			k := min(skip, len(bufs[0]))
			if bufs[0] = bufs[0][k:]; len(bufs[0]) == 0 {
				bufs = bufs[1:]
			}
			skip -= k
		}
		at = n
		return directPwritev(fd, bufs, off+int64(n))
	})
}

func directLoop(op func(int, []byte, int64) (int, error), fd int, p []byte, off int64) (int, error) {
	return directSteps(len(p), func(n int) (int, error) { return op(fd, p[n:], off+int64(n)) })
}

// directSteps calls step with the bytes done so far until total are done,
// retrying EINTR; it stops early, without error, at end of file or after a
// short transfer that leaves the position unaligned. EINVAL becomes
// errDirectRefused.
func directSteps(total int, step func(done int) (int, error)) (int, error) {
	n := 0
	for n < total {
		m, err := step(n)
		switch {
		case err == unix.EINTR:
			continue
		case err == unix.EINVAL:
			return n, errDirectRefused
		case err != nil:
			return n, err
		case m <= 0:
			return n, nil // end of file
		}
		n += m
		if n%Alignment != 0 {
			break
		}
	}
	return n, nil
}
