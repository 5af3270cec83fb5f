package engine

import (
	"errors"
	"fmt"
	"io"
	"os"
	"time"

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

// readAt reads len(buf) bytes of the source at off; a source now shorter
// than its size (size) is ErrSourceChanged.
func (src *Source) readAt(buf []byte, off, size int64) error {
	if _, err := src.File.ReadAt(buf, off); err != nil {
		if errors.Is(err, io.EOF) {
			return fmt.Errorf("%w: %s: shorter than %d bytes", ErrSourceChanged, src.File.Name(), size)
		}
		return fmt.Errorf("read %s: %w", src.File.Name(), err)
	}
	return nil
}

// recheck stats the source again at the end of a sync: a size or mtime
// other than at its start, or moved (the caller saw it change otherwise),
// is ErrSourceChanged. It returns what it found.
func (src *Source) recheck(moved bool) (size, mtime int64, mode os.FileMode, err error) {
	if size, mtime, mode, err = src.File.Stat(); err != nil {
		return
	}
	if size != src.Size || mtime != src.ModTime || moved {
		err = fmt.Errorf("%w: %s: size %d -> %d, mtime %s -> %s", ErrSourceChanged, src.File.Name(),
			src.Size, size, time.Unix(0, src.ModTime).Format(time.RFC3339Nano), time.Unix(0, mtime).Format(time.RFC3339Nano))
	}
	return
}
