package engine

import (
	"os"

	"github.com/pdiffagent/pdiffagent/sysio"
)

// Source is the sender's file and what it looked like when the sync began.
type Source struct {
	File    *sysio.File
	Size    int64
	ModTime int64 // unix nanoseconds
	Mode    os.FileMode
	Uid     uint32
	Gid     uint32
}

// NewSource stats f and wraps it.
func NewSource(f *sysio.File) (*Source, error) {
	size, mtime, mode, err := f.Stat()
	if err != nil {
		return nil, err
	}
	uid, gid, _ := f.Owner() // zero where the platform has no owners
	return &Source{File: f, Size: size, ModTime: mtime, Mode: mode, Uid: uid, Gid: gid}, nil
}
