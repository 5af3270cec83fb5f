//go:build !linux

package sysio

import (
	"io"
	"os"
)

// deviceSize returns the size of the block device f by seeking to its
// end, which works for disk devices on Darwin and the BSDs.
func deviceSize(f *os.File) (int64, error) {
	return f.Seek(0, io.SeekEnd)
}
