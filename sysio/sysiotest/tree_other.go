//go:build !linux && !darwin

package sysiotest

import (
	"errors"
	"io/fs"
	"time"
)

func lchtimes(string, time.Time) error {
	return errors.New("setting a symlink's own times is not supported on this system")
}

func allocated(fs.FileInfo) int64 { return -1 }
