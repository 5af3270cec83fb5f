//go:build !linux

package sysio

import (
	"os"
	"time"
)

// identity has no inode, device or ctime here; FSType 0 is never trusted,
// so the cache is off on these platforms.
func identity(f *os.File, dev bool) (Identity, error) {
	fi, err := f.Stat()
	if err != nil {
		return Identity{}, err
	}
	return Identity{Size: fi.Size(), Mtime: fi.ModTime().UnixNano(), Device: dev}, nil
}

func coarseNow() int64 { return time.Now().UnixNano() }

func timestampGranularity() time.Duration { return time.Second }

func syncFS(f *os.File) error { return ErrNotSupported }

const hasSyncFS = false
