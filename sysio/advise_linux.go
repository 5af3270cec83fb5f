//go:build linux

package sysio

import (
	"os"
	"runtime"

	"golang.org/x/sys/unix"
)

// syncData is fdatasync with EINTR retried.
func syncData(f *os.File) error {
	fd := rawFd(f)
	err := ignoringEINTR(func() error { return unix.Fdatasync(fd) })
	runtime.KeepAlive(f)
	if err != nil {
		return &os.PathError{Op: "fdatasync", Path: f.Name(), Err: err}
	}
	return nil
}

// dropCache writes back dirty pages (fdatasync), then drops the file's
// clean pages (POSIX_FADV_DONTNEED); fadvise errors are ignored.
func dropCache(f *os.File) error {
	if err := syncData(f); err != nil {
		return err
	}
	_ = unix.Fadvise(rawFd(f), 0, 0, unix.FADV_DONTNEED)
	runtime.KeepAlive(f)
	return nil
}

// adviseSequential hints sequential access and starts read-ahead for
// [off, off+n) (n == 0: to end of file). Errors are ignored.
func adviseSequential(f *os.File, off, n int64) {
	fd := rawFd(f)
	_ = unix.Fadvise(fd, off, n, unix.FADV_SEQUENTIAL)
	_ = unix.Fadvise(fd, off, n, unix.FADV_WILLNEED)
	runtime.KeepAlive(f)
}

// adviseDontNeed drops the clean cached pages of [off, off+n). Errors are
// ignored.
func adviseDontNeed(f *os.File, off, n int64) {
	_ = unix.Fadvise(rawFd(f), off, n, unix.FADV_DONTNEED)
	runtime.KeepAlive(f)
}

// adviseHuge asks the kernel to back b, anonymous memory, with huge pages
// (MADV_HUGEPAGE, where transparent huge pages are "madvise"). Errors are
// ignored.
func adviseHuge(b []byte) { _ = unix.Madvise(b, unix.MADV_HUGEPAGE) }

// adviseRandom turns read-ahead off for f (posix_fadvise RANDOM applies
// to the open file). Errors are ignored.
func adviseRandom(f *os.File) {
	_ = unix.Fadvise(rawFd(f), 0, 0, unix.FADV_RANDOM)
	runtime.KeepAlive(f)
}

// startWriteback starts writing back the dirty pages of [off, off+n) (n ==
// 0: to end of file) without waiting for them (sync_file_range WRITE).
// Errors are ignored: a later fsync writes and reports.
func startWriteback(f *os.File, off, n int64) {
	_ = unix.SyncFileRange(rawFd(f), off, n, unix.SYNC_FILE_RANGE_WRITE)
	runtime.KeepAlive(f)
}
