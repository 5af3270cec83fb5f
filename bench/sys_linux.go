package bench

import (
	"os"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Resident returns the fraction of path's pages that are in the page cache
// (mincore over a read-only mapping), or -1 if that cannot be told.
func Resident(path string) (float64, error) {
	f, err := os.Open(path)
	if err != nil {
		return -1, err
	}
	defer f.Close()
	size, err := fileSize(f)
	if err != nil || size == 0 {
		return 1, err
	}
	m, err := unix.Mmap(int(f.Fd()), 0, int(size), unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		return -1, err
	}
	defer unix.Munmap(m)
	page := int64(os.Getpagesize())
	vec := make([]byte, (size+page-1)/page)
	_, _, errno := unix.Syscall(unix.SYS_MINCORE, uintptr(unsafe.Pointer(&m[0])),
		uintptr(len(m)), uintptr(unsafe.Pointer(&vec[0])))
	if errno != 0 {
		return -1, errno
	}
	var in int
	for _, v := range vec {
		in += int(v & 1)
	}
	return float64(in) / float64(len(vec)), nil
}

// PeakRSS is the process's peak resident set in bytes (getrusage
// RUSAGE_SELF: process-wide), or 0 if unknown.
func PeakRSS() int64 {
	var ru unix.Rusage
	if unix.Getrusage(unix.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return ru.Maxrss << 10 // KiB on Linux
}

// IsTmpfs reports whether dir is on a tmpfs (memory), where timings say
// nothing about disks.
func IsTmpfs(dir string) bool {
	var st unix.Statfs_t
	return unix.Statfs(dir, &st) == nil && st.Type == unix.TMPFS_MAGIC
}
