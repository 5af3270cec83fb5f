//go:build !linux

package sysio

import (
	"os"
	"time"
)

// SetModTime sets the file's access and modification times to t.
func (f *File) SetModTime(t time.Time) error { return os.Chtimes(f.name, t, t) }
