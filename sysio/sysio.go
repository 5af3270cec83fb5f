package sysio

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"unsafe"
)

// Alignment is the buffer address, offset and length granularity required
// for O_DIRECT transfers.
const Alignment = 4096

var (
	// ErrNotSupported is returned (unwrapped) when the platform or the
	// filesystem cannot perform an operation, e.g. PunchHole on ext3.
	ErrNotSupported = errors.New("sysio: not supported")
	// ErrDevice is returned (unwrapped) for operations that make no sense on a
	// block device, e.g. Truncate.
	ErrDevice = errors.New("sysio: not possible on a block device")
)

// OpenMode selects how Open opens a file.
type OpenMode int

const (
	ReadOnly  OpenMode = iota // read the file or device
	ReadWrite                 // read and write an existing file or device
	Create                    // ReadWrite, creating a regular file (mode 0644 & umask) if missing
)

// DirectMode selects when O_DIRECT is used; see the package documentation.
type DirectMode int

const (
	DirectAuto DirectMode = iota // O_DIRECT for writes where the filesystem accepts it
	DirectOff                    // never O_DIRECT
	DirectOn                     // O_DIRECT for reads and writes
)

// Options tunes Open and FromOS. The zero value is the recommended default.
type Options struct {
	Direct DirectMode
}

// File is an open regular file or block device. ReadAt, WriteAt and the
// other methods except Close are safe for concurrent use; Close must not run
// concurrently with other methods.
type File struct {
	f      *os.File // buffered descriptor, always present
	direct *os.File // O_DIRECT descriptor for the same inode, or nil
	dfd    int      // direct.Fd(), cached
	name   string
	dev    bool // block device

	directRead  bool        // DirectOn: reads may use direct too
	directWrite bool        // direct may be used for writes
	directOff   atomic.Bool // set after an O_DIRECT transfer failed with EINVAL
	read        atomic.Int64
}

// BytesRead is how many bytes ReadAt has returned and Map has mapped
// since the File was opened: what a caller read of it, whatever the page
// cache held (the cache's tests count reads with it).
func (f *File) BytesRead() int64 { return f.read.Load() }

// AlignedBuffer returns a len-n slice whose first byte is Alignment-aligned
// and whose capacity is n rounded up to a multiple of Alignment (at least
// Alignment).
func AlignedBuffer(n int) []byte {
	if n < 0 {
		panic("sysio: negative AlignedBuffer size")
	}
	c := (n + Alignment - 1) &^ (Alignment - 1)
	if c == 0 {
		c = Alignment
	}
	if c >= slabMin && c <= slabSize {
		return slabs.carve(c)[:n:c]
	}
	// Go's allocator returns page-aligned memory for large and for most
	// page-multiple sizes; only over-allocate when it did not.
	if b := make([]byte, c); isAlignedPtr(b) {
		return b[:n:c]
	}
	b := make([]byte, c+Alignment)
	off := 0
	if r := int(addr(b) % Alignment); r != 0 {
		off = Alignment - r
	}
	return b[off : off+n : off+c]
}

func addr(p []byte) uintptr { return uintptr(unsafe.Pointer(unsafe.SliceData(p))) }

func isAlignedPtr(p []byte) bool { return addr(p)%Alignment == 0 }

// Open opens path. Create makes a regular file with mode 0644 (minus umask)
// if it does not exist. A block device is detected automatically.
func Open(path string, mode OpenMode, opt Options) (*File, error) {
	var flag int
	switch mode {
	case ReadOnly:
		flag = os.O_RDONLY
	case ReadWrite:
		flag = os.O_RDWR
	case Create:
		flag = os.O_RDWR | os.O_CREATE
	default:
		return nil, fmt.Errorf("sysio: open %s: invalid mode %d", path, mode)
	}
	f, err := os.OpenFile(path, flag, 0o644)
	if err != nil {
		return nil, err
	}
	return newFile(f, path, opt)
}

// FromOS wraps an already-open *os.File, e.g. one opened by openat2 in the
// agent's jail. The File takes ownership of f (also on error, f is closed).
// When opt allows it, a second O_DIRECT descriptor is opened through
// /proc/self/fd/N; if that fails the File works without O_DIRECT.
func FromOS(f *os.File, opt Options) (*File, error) {
	if f == nil {
		return nil, errors.New("sysio: FromOS(nil)")
	}
	return newFile(f, "", opt)
}

func newFile(f *os.File, path string, opt Options) (*File, error) {
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	m := fi.Mode()
	x := &File{
		f:    f,
		name: f.Name(),
		dev:  m&os.ModeDevice != 0 && m&os.ModeCharDevice == 0,
		dfd:  -1,
	}
	if opt.Direct == DirectOff || !(m.IsRegular() || x.dev) {
		return x, nil
	}
	writable := isWritable(f)
	x.directRead = opt.Direct == DirectOn
	x.directWrite = writable
	if x.directRead || x.directWrite {
		if d := openDirect(f, path); d != nil {
			x.direct, x.dfd = d, int(d.Fd())
		}
	}
	return x, nil
}

// Name returns the name the file was opened with.
func (f *File) Name() string { return f.name }

// OS returns the buffered descriptor. Do not close it; use File.Close.
func (f *File) OS() *os.File { return f.f }

// IsDevice reports whether the file is a block device.
func (f *File) IsDevice() bool { return f.dev }

// Direct reports whether an O_DIRECT descriptor is currently in use
// (it exists and has not been disabled after an EINVAL).
func (f *File) Direct() bool { return f.direct != nil && !f.directOff.Load() }

// Close closes both descriptors and returns the first error.
func (f *File) Close() error {
	var err error
	if f.direct != nil {
		err = f.direct.Close()
	}
	if e := f.f.Close(); err == nil {
		err = e
	}
	return err
}

// Truncate sets the size of a regular file; it returns ErrDevice on a block
// device.
func (f *File) Truncate(size int64) error {
	if f.dev {
		return ErrDevice
	}
	return f.f.Truncate(size) // ftruncate, EINTR retried by package os
}

// Size returns the size in bytes: the stat size of a regular file, the
// ioctl(BLKGETSIZE64) size of a block device (stat says 0 for those).
func (f *File) Size() (int64, error) {
	if f.dev {
		return deviceSize(f.f)
	}
	fi, err := f.f.Stat()
	if err != nil {
		return 0, err
	}
	return fi.Size(), nil
}

// Stat returns what is needed to detect a changing source: size (ioctl for
// a device), modification time in nanoseconds since the epoch, and mode.
func (f *File) Stat() (size int64, mtimeNano int64, mode os.FileMode, err error) {
	fi, err := f.f.Stat()
	if err != nil {
		return 0, 0, 0, err
	}
	size = fi.Size()
	if f.dev {
		if size, err = deviceSize(f.f); err != nil {
			return 0, 0, 0, err
		}
	}
	return size, fi.ModTime().UnixNano(), fi.Mode(), nil
}

// keepAlive keeps the descriptors of f open until the raw syscalls
// that used their cached numbers have returned.
func (f *File) keepAlive() {
	runtime.KeepAlive(f.f)
	runtime.KeepAlive(f.direct)
}

// Block buffers of slabMin to slabSize bytes are carved out of slabs of
// slabSize bytes, aligned to hugeSize and advised to be huge pages
// (adviseHuge): on the VM this was measured on (2026-12-01, Linux 6.18,
// THP "madvise"), first touching 64 MiB of fresh memory cost 310 ms of
// CPU and 1.1 s of wall time in 4 KiB pages (16,384 faults at about
// 20 us, the host backing each page), 115-150 ms and 0.5-0.9 s in huge
// pages. A sync touches its buffers fresh: they are most of its memory.
const (
	hugeSize = 2 << 20
	slabSize = 8 << 20
	slabMin  = 256 << 10
)

type slabCarver struct {
	mu   sync.Mutex
	rest []byte
}

var slabs slabCarver

// carve returns c fresh bytes, aligned to Alignment (c is a multiple of
// it); the buffers of a slab keep all of it alive.
func (s *slabCarver) carve(c int) []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.rest) < c {
		b := make([]byte, slabSize+hugeSize)
		off := 0
		if r := int(addr(b) % hugeSize); r != 0 {
			off = hugeSize - r
		}
		s.rest = b[off : off+slabSize : off+slabSize]
		adviseHuge(s.rest)
	}
	b := s.rest[:c:c]
	s.rest = s.rest[c:]
	return b
}
