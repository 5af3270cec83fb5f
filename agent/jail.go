package agent

import (
	"errors"
	"io/fs"
	"strings"
	"syscall"

	"github.com/pdiffagent/pdiffagent/wire"
)

// The jail confines every file a server opens to its root directory.
//
// Paths from clients are '/'-separated and relative. cleanRelPath refuses
// absolute paths, NUL bytes and ".." components before anything touches
// the filesystem; the platform's openInRoot then resolves the path beneath
// the root so that no symbolic link can lead out of it (jail_linux.go:
// openat2 with RESOLVE_BENEATH, or a component-by-component O_NOFOLLOW walk
// where the kernel lacks openat2; jail_other.go: os.Root). Only regular
// files, and block devices when the server allows them, are accepted: the
// kind is checked first through an O_PATH descriptor, which opens nothing
// (a character device's driver never sees the refused open), and again
// with fstat on the descriptor opened (O_NONBLOCK, so that a FIFO swapped
// in meanwhile cannot hang the open).

// openMode is what a session needs from its file.
type openMode int

const (
	openRead      openMode = iota // a source (pull) or a dry-run target
	openWrite                     // an existing target (push)
	openCreate                    // a target, created (0644) if missing; parent must exist
	openCreateNew                 // a target that must not exist yet, created (0644)
)

// fileKind is a file's type as fstat reports it.
type fileKind int

const (
	kindRegular fileKind = iota
	kindDir
	kindBlockDevice
	kindCharDevice
	kindFIFO
	kindSocket
	kindSymlink
	kindOther
)

// fileKey identifies an open file for the server's transfer locks: device
// and inode where the platform has them, else the cleaned path.
type fileKey struct {
	dev, ino uint64
	path     string
}

// cleanRelPath validates a client's path and returns it without empty and
// "." components.
func cleanRelPath(p string) (string, error) {
	switch {
	case p == "":
		return "", codeErrorf(wire.CodeBadRequest, "empty path")
	case len(p) > wire.MaxPathLen:
		return "", codeErrorf(wire.CodeBadRequest, "path longer than %d bytes", wire.MaxPathLen)
	case strings.IndexByte(p, 0) >= 0:
		return "", codeErrorf(wire.CodeBadRequest, "path %q contains a NUL byte", p)
	case p[0] == '/':
		return "", codeErrorf(wire.CodeDenied, "path %q is absolute: paths are relative to the server's root", p)
	}
	parts := strings.Split(p, "/")
	kept := parts[:0]
	for _, c := range parts {
		switch c {
		case "", ".":
		case "..":
			return "", codeErrorf(wire.CodeDenied, "path %q contains \"..\": paths must stay inside the server's root", p)
		default:
			kept = append(kept, c)
		}
	}
	if len(kept) == 0 {
		return "", codeErrorf(wire.CodeBadRequest, "path %q names the root directory, not a file", p)
	}
	return strings.Join(kept, "/"), nil
}

// checkKind accepts regular files, and block devices when allowed.
func checkKind(rel string, k fileKind, allowDevices bool) error {
	what := ""
	switch k {
	case kindRegular:
		return nil
	case kindBlockDevice:
		if allowDevices {
			return nil
		}
		return codeErrorf(wire.CodeDenied, "%s is a block device and this server does not allow devices", rel)
	case kindDir:
		what = "a directory"
	case kindCharDevice:
		what = "a character device"
	case kindFIFO:
		what = "a FIFO"
	case kindSocket:
		what = "a socket"
	case kindSymlink:
		what = "a symbolic link"
	default:
		what = "not a regular file"
	}
	return codeErrorf(wire.CodeDenied, "%s is %s: only regular files can be synced", rel, what)
}

// jailOpenError words an open failure for the client, never naming the root.
func jailOpenError(rel string, mode openMode, err error) error {
	switch errnoKind(err) {
	case errNotExist:
		if mode == openCreate || mode == openCreateNew {
			return codeErrorf(wire.CodeNotFound, "%s: parent directory does not exist (directories are not created)", rel)
		}
		return codeErrorf(wire.CodeNotFound, "%s: no such file", rel)
	case errNotDir:
		return codeErrorf(wire.CodeNotFound, "%s: a parent is not a directory", rel)
	case errEscape:
		return codeErrorf(wire.CodeDenied, "%s: leads outside the server's root (symbolic link)", rel)
	case errSymlink:
		return codeErrorf(wire.CodeDenied, "%s: symbolic links are not followed here", rel)
	case errPerm:
		return codeErrorf(wire.CodeDenied, "%s: permission denied", rel)
	case errIsDir:
		return codeErrorf(wire.CodeDenied, "%s is a directory: only regular files can be synced", rel)
	case errReadOnlyFS:
		return codeErrorf(wire.CodeDenied, "%s: read-only file system", rel)
	}
	return codeErrorf(wire.CodeIO, "%s: open: %v", rel, err)
}

// errClass groups the errno values jailOpenError distinguishes.
type errClass int

const (
	errOther errClass = iota
	errNotExist
	errNotDir
	errEscape
	errSymlink
	errPerm
	errIsDir
	errReadOnlyFS
)

// errSymlinkRefused is returned by the fallback walk for a symbolic link.
var errSymlinkRefused = errors.New("agent: symbolic link refused")

func errnoKind(err error) errClass {
	switch {
	case errors.Is(err, errSymlinkRefused):
		return errSymlink
	case errors.Is(err, fs.ErrNotExist):
		return errNotExist
	case errors.Is(err, syscall.ENOTDIR):
		return errNotDir
	case errors.Is(err, syscall.EXDEV):
		return errEscape
	case errors.Is(err, syscall.ELOOP):
		return errSymlink
	case errors.Is(err, fs.ErrPermission):
		return errPerm
	case errors.Is(err, syscall.EISDIR):
		return errIsDir
	case errors.Is(err, syscall.EROFS):
		return errReadOnlyFS
	}
	return errOther
}
