//go:build !unix

package sysio

// Dup is not supported off Unix.
func (f *File) Dup() (*File, error) { return nil, ErrNotSupported }
