package sysio

import (
	"io"
	"os"
)

// Allocate reserves disk space for [off, off+length) with fallocate mode 0,
// so the file size grows to at least off+length. It returns nil without
// doing anything when the filesystem or platform cannot preallocate
// (ENOTSUP/EOPNOTSUPP), on a block device, or when length <= 0.
// On Darwin it uses F_PREALLOCATE and then extends the size.
func (f *File) Allocate(off, length int64) error {
	if f.dev || length <= 0 {
		return nil
	}
	if off < 0 {
		return &os.PathError{Op: "fallocate", Path: f.name, Err: errNegativeOffset}
	}
	return allocate(f.f, off, length)
}

// PunchHole deallocates [off, off+length) without changing the size
// (FALLOC_FL_PUNCH_HOLE|FALLOC_FL_KEEP_SIZE); the range then reads as
// zeros. It returns ErrNotSupported (unwrapped) when the filesystem or
// platform cannot punch holes; the caller should then write zeros.
// Partial blocks at either end are zeroed rather than deallocated.
func (f *File) PunchHole(off, length int64) error {
	if length <= 0 {
		return nil
	}
	if off < 0 {
		return &os.PathError{Op: "fallocate", Path: f.name, Err: errNegativeOffset}
	}
	return punchHole(f.f, off, length)
}

// Sync commits data and metadata to stable storage (fsync). Use it for the
// final commit of a file; writes made through the O_DIRECT descriptor are
// covered too.
func (f *File) Sync() error { return f.f.Sync() }

// SyncData commits data, and only the metadata needed to read it back, to
// stable storage (fdatasync; fsync where fdatasync does not exist).
func (f *File) SyncData() error { return syncData(f.f) }

// DropCache asks the kernel to drop this file's clean cached pages
// (fdatasync, then posix_fadvise DONTNEED for the whole file). Best
// effort: an fdatasync error is returned, an unsupported fadvise is not.
// No-op apart from the sync on platforms without posix_fadvise.
func (f *File) DropCache() error { return dropCache(f.f) }

// AdviseRandom tells the kernel that this open file will be read at
// scattered places (posix_fadvise RANDOM): no read-ahead, so a read of a
// block brings just that block from the disk. Errors are ignored; no-op on
// other platforms.
func (f *File) AdviseRandom() { adviseRandom(f.f) }

// AdviseSequential tells the kernel that [off, off+n) will be read
// sequentially soon (posix_fadvise SEQUENTIAL and WILLNEED); n <= 0 means
// to the end of the file. Errors are ignored; no-op on other platforms.
func (f *File) AdviseSequential(off, n int64) {
	if off < 0 {
		return
	}
	if n < 0 {
		n = 0
	}
	adviseSequential(f.f, off, n)
}

// StartWriteback starts writing back the dirty cached pages of [off,
// off+n) (n <= 0: to the end of the file) and returns without waiting
// (sync_file_range WRITE on Linux; no-op elsewhere), so that a later
// fsync finds less to write. Errors are ignored: the fsync reports them.
func (f *File) StartWriteback(off, n int64) {
	if off < 0 {
		return
	}
	startWriteback(f.f, off, max(n, 0))
}

// AdviseDontNeed tells the kernel that [off, off+n) will not be read again
// soon, so its clean cached pages may go (posix_fadvise DONTNEED): what a
// reader that was asked to bypass the cache does where O_DIRECT is refused.
// n <= 0 is a no-op. Errors are ignored; no-op on other platforms.
func (f *File) AdviseDontNeed(off, n int64) {
	if off < 0 || n <= 0 {
		return
	}
	adviseDontNeed(f.f, off, n)
}

// NextData returns the start of the first data region at or after off
// (lseek SEEK_DATA). When there is no data at or after off, including
// off >= size, it returns (-1, io.EOF). Where SEEK_DATA is unsupported
// every byte counts as data: it returns off when off < size.
//
// NextData and NextHole move the file position of the buffered descriptor
// (OS()); positional I/O (ReadAt, WriteAt) is unaffected.
func (f *File) NextData(off int64) (int64, error) {
	return f.seek(off, false)
}

// NextHole returns the start of the first hole at or after off (lseek
// SEEK_HOLE); the end of the file counts as a hole, so for off < size the
// result is at most size. For off >= size it returns (-1, io.EOF). Where
// SEEK_HOLE is unsupported it returns size.
func (f *File) NextHole(off int64) (int64, error) {
	return f.seek(off, true)
}

func (f *File) seek(off int64, hole bool) (int64, error) {
	if off < 0 {
		return -1, &os.PathError{Op: "seek", Path: f.name, Err: errNegativeOffset}
	}
	pos, err := seekDataHole(f.f, off, hole)
	if err != ErrNotSupported {
		return pos, err
	}
	size, err := f.Size()
	switch {
	case err != nil:
		return -1, err
	case off >= size:
		return -1, io.EOF
	case hole:
		return size, nil
	}
	return off, nil
}
