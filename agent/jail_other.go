//go:build !linux

package agent

import (
	"fmt"
	"io/fs"
	"os"
	"path"
	"syscall"
)

// jail is an os.Root: it refuses paths and symbolic links that lead out of
// the root on every platform Go supports.
type jail struct {
	root         string
	r            *os.Root
	allowDevices bool
}

func newJail(root string, allowDevices bool) (*jail, error) {
	r, err := os.OpenRoot(root)
	if err != nil {
		return nil, fmt.Errorf("agent: root: %w", err)
	}
	return &jail{root: root, r: r, allowDevices: allowDevices}, nil
}

func (j *jail) close() error { return j.r.Close() }

// open opens rel beneath the root. Without openat2 and a portable
// O_NONBLOCK, the kind is checked with Stat before the open (so that a FIFO
// cannot hang it) and again with fstat after.
func (j *jail) open(rel string, mode openMode) (*os.File, fileKey, error) {
	if fi, err := j.r.Stat(rel); err == nil {
		if err := checkKind(rel, kindOfMode(fi.Mode()), j.allowDevices); err != nil {
			return nil, fileKey{}, err
		}
	}
	flag := os.O_RDONLY
	switch mode {
	case openWrite:
		flag = os.O_RDWR
	case openCreate:
		flag = os.O_RDWR | os.O_CREATE
	case openCreateNew:
		flag = os.O_RDWR | os.O_CREATE | os.O_EXCL
	}
	f, err := j.r.OpenFile(rel, flag, 0o644)
	if err != nil {
		return nil, fileKey{}, jailOpenError(rel, mode, err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fileKey{}, jailOpenError(rel, mode, err)
	}
	if err := checkKind(rel, kindOfMode(fi.Mode()), j.allowDevices); err != nil {
		f.Close()
		return nil, fileKey{}, err
	}
	// Locks go by path here: portable code has no inode number.
	return f, fileKey{path: rel}, nil
}

// parentExists reports whether rel's directory exists inside the root.
func (j *jail) parentExists(rel string) error {
	dir := path.Dir(rel)
	if dir == "." {
		return nil
	}
	fi, err := j.r.Stat(dir)
	if err != nil {
		return jailOpenError(rel, openCreate, err)
	}
	if !fi.IsDir() {
		return jailOpenError(rel, openCreate, syscall.ENOTDIR)
	}
	return nil
}

func kindOfMode(m fs.FileMode) fileKind {
	switch {
	case m.IsRegular():
		return kindRegular
	case m.IsDir():
		return kindDir
	case m&fs.ModeCharDevice != 0:
		return kindCharDevice
	case m&fs.ModeDevice != 0:
		return kindBlockDevice
	case m&fs.ModeNamedPipe != 0:
		return kindFIFO
	case m&fs.ModeSocket != 0:
		return kindSocket
	case m&fs.ModeSymlink != 0:
		return kindSymlink
	}
	return kindOther
}
