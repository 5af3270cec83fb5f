// Package sysio is pdiffagent's disk layer: every byte that the agent reads
// from or writes to a local file or block device goes through a *File.
//
// sysio owns:
//
//   - opening regular files and block devices (Open, or FromOS for a
//     descriptor opened elsewhere, e.g. by openat2 inside the agent's jail);
//   - positional I/O (pread/pwrite loops that continue short transfers and
//     retry EINTR), safe for concurrent use from many goroutines; a
//     buffered ReadAt first takes what the page cache holds with one raw
//     preadv2(RWF_NOWAIT) (cached_linux.go), which keeps the goroutine's P:
//     a blocking 1 MiB pread outlasts the Go scheduler's 20 µs monitor
//     tick, which then hands the P to another thread and keeps ticking at
//     20 µs. Measured on the 2-core VM (local sync of 1 GiB, 100 pages
//     changed, load 9-10, 3 runs each): 3,200-4,800 context switches
//     instead of 10,800-14,500, 2.29-2.64 CPU-s instead of 2.58-2.89;
//     what the cache lacks is read by the ordinary pread;
//   - space management: Truncate, Allocate (fallocate), PunchHole;
//   - sparse-file discovery: NextData / NextHole (lseek SEEK_DATA/SEEK_HOLE);
//   - read-only mappings of a range (Map), for hashing in place, and
//     Guard, which turns the fault of a mapping whose file was truncated
//     meanwhile into ErrMappedFault instead of a crash;
//   - durability and cache control: Sync, SyncData, DropCache,
//     AdviseSequential;
//   - block-device specifics: Size via ioctl(BLKGETSIZE64), because stat
//     reports 0 for a device; Truncate is refused with ErrDevice;
//   - atomic replacement (Replacement: a temporary file beside the target,
//     started as a reflink clone or a copy of it, renamed over it at the
//     end; replace.go).
//
// Nothing else in pdiffagent should call pread/pwrite/fallocate/lseek/mmap
// or open files with O_DIRECT directly.
//
// # O_DIRECT policy
//
// A File may hold two descriptors for the same inode: the ordinary, buffered
// one (OS) and, optionally, a second one opened with O_DIRECT. The second one
// is opened by re-opening /proc/self/fd/N (or the path given to Open) and is
// kept only if it refers to the same inode.
//
//   - DirectAuto (the zero value): O_DIRECT is used for writes only, when the
//     file is writable and the filesystem accepts O_DIRECT. Reads stay
//     buffered so that the page cache and kernel read-ahead keep working for
//     the hashing/diffing passes.
//   - DirectOff: O_DIRECT is never used.
//   - DirectOn: O_DIRECT is used for reads as well as writes.
//
// A transfer goes through the O_DIRECT descriptor only when the buffer
// address and the file offset are multiples of Alignment (4096; use
// AlignedBuffer); the largest Alignment-multiple prefix of the buffer is
// transferred directly and any unaligned tail through the buffered
// descriptor. Everything else (unaligned buffers or offsets, short
// transfers at end of file) silently uses the buffered descriptor.
// AlignedBuffer carves buffers of 256 KiB to 8 MiB (a sync's block
// buffers, most of its memory) out of 8 MiB slabs advised to be huge pages:
// on the VM this was written on, fresh memory costs about 20 µs per 4 KiB
// page at first touch (the host backs it then), and a 10%-changed 1 GiB
// sync spent 0.3-0.4 of its 2.5-3.1 CPU-seconds on 12,000 such faults
// (sysio.go has the numbers).
//
// Falling back is always clean: if the filesystem refuses O_DIRECT at open
// time (ramfs, some FUSE and network filesystems, tmpfs on older kernels)
// the File simply has no direct descriptor, and if a direct pread/pwrite
// later fails with EINVAL, direct I/O is switched off for that File (an
// atomic flag, so concurrent callers agree) and the transfer is retried
// buffered. Callers never see the EINVAL.
//
// The kernel keeps the page cache coherent with O_DIRECT transfers on the
// same inode, so mixing the two descriptors is safe. Sync (fsync) on the
// buffered descriptor also flushes what was written through the direct one.
//
// # Platforms
//
// The implementation is Linux-first. Each platform-dependent helper lives
// in a <name>_linux.go file and a fallback with an explicit negated build tag
// (//go:build !linux, or !linux && !darwin where Darwin has its own file), with
// identical signatures, so the package builds on darwin and windows. On
// those platforms there is no O_DIRECT, Allocate is a no-op (Darwin:
// F_PREALLOCATE), PunchHole returns ErrNotSupported, and the whole file is
// reported as data by NextData/NextHole.
//
// Unsupported operations (ENOTSUP/EOPNOTSUPP) are soft failures: Allocate,
// AdviseSequential and DropCache quietly do nothing; PunchHole reports
// ErrNotSupported so that the caller can write zeros instead.
package sysio
