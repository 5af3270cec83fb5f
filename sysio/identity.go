package sysio

import (
	"os"
	"runtime"
	"time"
)

// Identity is what a file looks like from outside at one moment: enough to
// tell, later, whether anything may have written it meanwhile. Two
// identities are equal only when every field is.
//
// For a regular file Dev and Ino are the filesystem's device and inode
// numbers. For a block device Dev is the device's own number (st_rdev),
// Ino is 0, Size comes from ioctl(BLKGETSIZE64), and the timestamps are
// those of the device node, which writes to the device do not move: a
// device's identity alone proves nothing about its content.
type Identity struct {
	Dev    uint64
	Ino    uint64
	Size   int64
	Mtime  int64  // nanoseconds since the epoch
	Ctime  int64  // nanoseconds since the epoch; only the kernel sets it
	FSType uint64 // statfs f_type of the filesystem holding the file (0 for a device)
	Device bool   // a block device
}

// Filesystem types (statfs f_type) that the block-hash cache may trust:
// local filesystems whose inode numbers are stable and whose ctime moves on
// every write and metadata change. Anything else is refused, in particular
// NFS (0x6969), FUSE (0x65735546) and overlayfs (0x794c7630).
const (
	FSExt4  uint64 = 0xEF53 // ext2/3/4 share the magic
	FSXFS   uint64 = 0x58465342
	FSBtrfs uint64 = 0x9123683E
	FSZFS   uint64 = 0x2FC12FC1
	FSTmpfs uint64 = 0x01021994
)

// TrustedFS reports whether files on a filesystem of type t have
// identities that the cache may rely on.
func TrustedFS(t uint64) bool {
	switch t {
	case FSExt4, FSXFS, FSBtrfs, FSZFS, FSTmpfs:
		return true
	}
	return false
}

// Identity returns the file's identity now, from fstat and fstatfs on its
// descriptor (so it names the very inode that was opened, whatever the
// path says now).
func (f *File) Identity() (Identity, error) {
	id, err := identity(f.f, f.dev)
	f.keepAlive()
	return id, err
}

// CoarseNow returns the clock that file timestamps are taken from, in
// nanoseconds since the epoch: Linux stamps inodes with the coarse
// real-time clock, which moves once per kernel tick.
func CoarseNow() int64 { return coarseNow() }

// TimestampGranularity is how far apart two file timestamps taken at
// different moments may be and still be equal: the resolution of the
// coarse clock (one kernel tick, 1-10 ms) on Linux, a second elsewhere.
func TimestampGranularity() time.Duration { return timestampGranularity() }

// SyncFS flushes the whole filesystem holding f to stable storage with one
// call (syncfs), as a group commit does instead of one fsync per file. Where
// the platform has no syncfs it returns ErrNotSupported and the caller
// syncs each file. f may be any open file or directory of that filesystem.
func SyncFS(f *os.File) error {
	if !hasSyncFS {
		return ErrNotSupported
	}
	err := syncFS(f)
	runtime.KeepAlive(f)
	return err
}

// CanSyncFS reports whether SyncFS works on this platform.
func CanSyncFS() bool { return hasSyncFS }
