//go:build !unix

package sysio

// Owner is not supported off Unix.
func (f *File) Owner() (uid, gid uint32, err error) { return 0, 0, ErrNotSupported }

// Chown is not supported off Unix.
func (f *File) Chown(uid, gid uint32) error { return ErrNotSupported }

// CanChown is false off Unix.
func CanChown() bool { return false }
