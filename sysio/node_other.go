//go:build !linux && !darwin

package sysio

import (
	"os"
	"time"
)

// Lutimes sets the times of path; without symlinks to keep apart, it
// follows the path as os.Chtimes does.
func Lutimes(path string, t time.Time) error { return os.Chtimes(path, t, t) }

// Mknod is not supported here.
func Mknod(path string, mode uint32, rdev uint64) error { return ErrNotSupported }
