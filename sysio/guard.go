package sysio

import (
	"errors"
	"os"
)

// The checks a receiver makes on a target before it writes: how many names
// the file has, how much room its filesystem has left, and an advisory
// lock against cooperating writers. They take the opened *os.File, never a
// path, so that what is checked is what is written. Policy (how many links,
// how much room to keep) is the caller's.

// ErrLocked is returned by Lock without wait when another open file
// description holds a conflicting lock.
var ErrLocked = errors.New("sysio: file is locked by another process")

// Space is what a filesystem has: Total bytes, and Avail bytes that an
// unprivileged writer may still take (root's reserve excluded).
type Space struct {
	Total, Avail uint64
}

// LinkCount is the number of hard links (names) of the open file f. It is
// 1 off Linux.
func LinkCount(f *os.File) (uint64, error) { return linkCount(f) }

// FreeSpace reports the space of the filesystem holding f (fstatfs). Off
// Linux it returns ErrNotSupported.
func FreeSpace(f *os.File) (Space, error) { return fsSpace(f) }

// Lock takes an advisory lock (flock) on f: exclusive for a writer, shared
// for a reader. With wait it blocks until the lock is free; without, a
// conflicting lock is ErrLocked. ErrNotSupported where the filesystem or
// platform has no flock. The lock belongs to f's open file description and
// ends with Unlock or when f is closed.
func Lock(f *os.File, exclusive, wait bool) error { return flock(f, exclusive, wait) }

// Unlock releases a lock taken by Lock.
func Unlock(f *os.File) error { return funlock(f) }

// RemoveAt removes name from the directory dir if it still names the file
// f (same device and inode), for a caller undoing a file it created: a
// name that another process replaced meanwhile is left alone
// (ErrNotSupported off Linux).
func RemoveAt(dir *os.File, name string, f *os.File) error { return removeAt(dir, name, f) }
