package sysio

import (
	"errors"
	"fmt"
	"os"
	"runtime/debug"
)

// ErrMappedFault is returned by Guard when the function it ran touched
// mapped file memory that no longer exists: the file was truncated beneath
// the mapping. The kernel signals it (SIGBUS); Guard turns it into this
// error instead of a crash.
var ErrMappedFault = errors.New("sysio: mapped file memory vanished (file truncated meanwhile)")

// Mapping is a read-only view of a range of a File, mapped into memory so
// that hashing reads the page cache in place instead of copying it out
// (pread). Touch its bytes only inside Guard: a file truncated by someone
// else while mapped faults instead of returning short reads.
type Mapping struct {
	f    *File
	mem  []byte // the whole mapping, from a page boundary
	data []byte // the requested range within mem
}

// Map maps n bytes of f from off, read-only. n must be positive and
// off+n must not exceed the file's size (mapped pages past the end fault).
// It returns ErrNotSupported where the platform or the file cannot be
// mapped, or where the File reads with O_DIRECT (DirectOn); the caller
// then reads with ReadAt.
func (f *File) Map(off int64, n int) (*Mapping, error) {
	if off < 0 || n <= 0 {
		return nil, &os.PathError{Op: "mmap", Path: f.name, Err: fmt.Errorf("bad range %d+%d", off, n)}
	}
	if f.directRead {
		return nil, ErrNotSupported // reads were asked to bypass the page cache
	}
	start := off &^ (pageSize - 1)
	mem, err := mapRead(f.f, start, int(off-start)+n)
	if err != nil {
		if errors.Is(err, ErrNotSupported) {
			return nil, err
		}
		return nil, &os.PathError{Op: "mmap", Path: f.name, Err: err}
	}
	f.read.Add(int64(n)) // counted as read: the caller maps what it means to read
	return &Mapping{f: f, mem: mem, data: mem[off-start:]}, nil
}

// Bytes returns the mapped range. The slice is valid until Close, and
// read-only: writing to it faults.
func (m *Mapping) Bytes() []byte { return m.data }

// Close unmaps the range. The Mapping's bytes must no longer be used.
func (m *Mapping) Close() error {
	if m == nil || m.mem == nil {
		return nil
	}
	err := unmap(m.mem)
	m.mem, m.data = nil, nil
	if err != nil {
		return &os.PathError{Op: "munmap", Path: m.f.name, Err: err}
	}
	return nil
}

// Guard runs fn, which reads from Mappings, and returns ErrMappedFault if
// such a read faulted because the file shrank. Other panics go on. fn must
// not hold locks that the rest of the program needs when it could fault:
// Guard is meant for pure computation over mapped bytes (hashing, copying).
func Guard(fn func()) (err error) {
	old := debug.SetPanicOnFault(true)
	defer func() {
		debug.SetPanicOnFault(old)
		if r := recover(); r != nil {
			if _, ok := r.(interface{ Addr() uintptr }); ok {
				err = ErrMappedFault
				return
			}
			panic(r)
		}
	}()
	fn()
	return nil
}
