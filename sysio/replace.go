package sysio

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// Replacement is the new version of a regular file, prepared beside it: a
// temporary file in the same directory, named .NAME.pdiffagent-XXXXXXXX,
// that takes the file's name in one rename at Commit. Until then the file
// itself is not touched, so a run killed at any point leaves it complete
// and as it was (and at worst a stale temporary file beside it); after
// Commit it is the complete new file.
//
// The life of a Replacement: Replace (or ReplaceAt) creates the temporary
// file, empty; Fill gives it the old file's content, as the starting point
// of a delta sync; the caller writes File; Commit; Close. Close without a
// successful Commit removes the temporary file.
//
// The old and the new copy coexist until the rename: the filesystem needs
// room for both, unless Fill could clone the old one (a reflink shares its
// blocks, and only the blocks written afterwards take new space).
type Replacement struct {
	// File is the temporary file, open for reading and writing. The
	// Replacement owns it: Close closes it.
	File *File
	// Existed reports whether there was a file to replace.
	Existed bool
	// Cloned reports that Fill made a reflink clone (no data copied).
	Cloned bool

	dir       *os.File // the directory, opened for reading (fsync)
	old       *os.File // the file being replaced, or nil
	oldSize   int64
	oldDev    uint64
	oldIno    uint64
	name, tmp string // names in dir
	display   string // the target as the caller names it, for errors
	committed bool
	closed    bool
	filled    bool  // Fill made the temporary file a copy of old
	basis     *File // old, as Basis gives it
}

// Replacement errors (unwrapped).
var (
	// ErrNotRegular: only a regular file can be replaced by a rename (a
	// block device, a directory… cannot).
	ErrNotRegular = errors.New("sysio: not a regular file")
	// ErrSymlink: the name is a symbolic link; replacing it would replace
	// the link, not the file it points to.
	ErrSymlink = errors.New("sysio: a symbolic link")
)

// tmpPrefix and tmpSuffix frame a replacement's temporary name:
// "." + NAME + tmpSuffix + 8 hex digits.
const (
	tmpPrefix    = "."
	tmpSuffix    = ".pdiffagent-"
	tmpRandBytes = 4
	maxNameLen   = 255 // bytes in one path component (NAME_MAX)
)

// TempName reports whether name is the temporary name of a replacement
// (of any file): .NAME.pdiffagent-XXXXXXXX.
func TempName(name string) bool {
	n := len(name)
	k := len(tmpSuffix) + 2*tmpRandBytes
	if n <= k+len(tmpPrefix) || name[:len(tmpPrefix)] != tmpPrefix || name[n-k:n-2*tmpRandBytes] != tmpSuffix {
		return false
	}
	_, err := hex.DecodeString(name[n-2*tmpRandBytes:])
	return err == nil
}

// tempName returns a fresh temporary name for name, shortening name's part
// so that the result fits in one path component.
func tempName(name string) (string, error) {
	var b [tmpRandBytes]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	keep := maxNameLen - len(tmpPrefix) - len(tmpSuffix) - 2*tmpRandBytes
	if len(name) > keep {
		name = name[:keep]
	}
	return tmpPrefix + name + tmpSuffix + hex.EncodeToString(b[:]), nil
}

// Replace prepares the replacement of the regular file at path (which
// need not exist; its directory must). See ReplaceAt.
func Replace(path string, opt Options) (*Replacement, error) {
	dir, err := os.Open(filepath.Dir(path))
	if err != nil {
		return nil, fmt.Errorf("%s: directory: %w", path, err)
	}
	return ReplaceAt(dir, filepath.Base(path), path, opt)
}

// ReplaceAt prepares the replacement of name, one path component, in the
// directory dir, open for reading, which the Replacement takes over (Close
// closes it; so does a failing ReplaceAt). The file need not exist. It refuses a name that is a symbolic link
// (ErrSymlink) or anything but a regular file (ErrNotRegular). display is
// how errors name the target.
//
// The temporary file is created beside it (O_EXCL, never following a
// link) with the old file's permissions (0644 minus the umask when there
// is no old file) and, when running as root, its owner; it starts empty:
// see Fill.
func ReplaceAt(dir *os.File, name, display string, opt Options) (*Replacement, error) {
	if name == "" || name == "." || name == ".." || filepath.Base(name) != name {
		dir.Close()
		return nil, fmt.Errorf("sysio: replace %q: not a file name", name)
	}
	r := &Replacement{dir: dir, name: name, display: display}
	old, info, err := openOld(dir, name)
	switch {
	case errors.Is(err, os.ErrNotExist):
	case err != nil:
		dir.Close()
		return nil, fmt.Errorf("%s: %w", display, err)
	default:
		r.old, r.Existed = old, true
		r.oldSize, r.oldDev, r.oldIno = info.size, info.dev, info.ino
	}
	perm := os.FileMode(0o644)
	if r.Existed {
		perm = info.perm
	}
	var f *os.File
	for try := 0; ; try++ {
		if r.tmp, err = tempName(name); err != nil {
			break
		}
		f, err = createAt(dir, r.tmp, perm)
		if !errors.Is(err, os.ErrExist) || try >= 8 {
			break
		}
	}
	if err != nil {
		r.closeOld()
		dir.Close()
		return nil, fmt.Errorf("%s: create a temporary file beside it: %w", display, err)
	}
	if r.Existed {
		// The umask may have cleared bits of the old file's mode.
		err = f.Chmod(perm)
		if err == nil {
			chownLike(f, info)
		}
	}
	if err == nil {
		r.File, err = newFile(f, "", opt)
		f = nil
	}
	if err != nil {
		if f != nil {
			f.Close()
		}
		unlinkAt(dir, r.tmp)
		r.closeOld()
		dir.Close()
		return nil, fmt.Errorf("%s: temporary file %s: %w", display, r.tmp, err)
	}
	r.File.name = r.tempDisplay()
	return r, nil
}

// TempPath is the temporary file's name, in the same form as display.
func (r *Replacement) TempPath() string {
	if d := filepath.Dir(r.display); d != "." {
		return filepath.Join(d, r.tmp)
	}
	return r.tmp
}

// tempDisplay is how errors name the temporary file before the rename.
func (r *Replacement) tempDisplay() string {
	return r.display + " (its new version " + r.TempPath() + ")"
}

// OldID identifies the file being replaced (device and inode), for locks;
// ok is false when there is none.
func (r *Replacement) OldID() (dev, ino uint64, ok bool) {
	return r.oldDev, r.oldIno, r.Existed
}

// OldLinks is the link count of the file being replaced (0 when there is
// none): a caller may refuse to copy from a file that has other names.
func (r *Replacement) OldLinks() (uint64, error) {
	if r.old == nil {
		return 0, nil
	}
	return linkCount(r.old)
}

// Fill gives the temporary file the old file's content: a reflink clone
// where the filesystem has them (Btrfs, XFS, bcachefs…; instant, no space
// taken), else a copy of its data regions (copy_file_range, which may
// also share blocks; holes stay holes), else a plain read and write. A
// cancelled ctx stops the copy. Nothing to do for a missing or empty file.
func (r *Replacement) Fill(ctx context.Context) error {
	if r.old == nil || r.oldSize == 0 {
		return nil
	}
	if err := cloneFile(r.File.f, r.old); err == nil {
		r.Cloned, r.filled = true, true
		return nil
	}
	if err := r.fill(ctx); err != nil {
		return err
	}
	r.filled = true
	return nil
}

// Basis is the file being replaced, open for reading, once Fill has made
// the temporary file a copy of it; nil before, or when there is none (or
// it was empty). A caller may use what it knows of the old file's content
// (a block-hash record valid for its identity now, after Fill) for the
// temporary file as Fill left it. The Replacement owns it.
func (r *Replacement) Basis() *File {
	if !r.filled || r.old == nil {
		return nil
	}
	if r.basis == nil {
		r.basis = &File{f: r.old, name: r.display, dfd: -1}
	}
	return r.basis
}

// fill copies the old file's data regions into the temporary file.
func (r *Replacement) fill(ctx context.Context) error {
	if err := r.File.Truncate(r.oldSize); err != nil {
		return r.fillError(err)
	}
	for off := int64(0); off < r.oldSize; {
		data, err := seekDataHole(r.old, off, false)
		switch {
		case err == io.EOF:
			return nil // the rest is a hole
		case err == ErrNotSupported:
			data = off
		case err != nil:
			return r.fillError(err)
		}
		end, err := seekDataHole(r.old, data, true)
		if err == ErrNotSupported || end > r.oldSize {
			end = r.oldSize
		} else if err != nil {
			return r.fillError(err)
		}
		if err := r.copyRange(ctx, data, end); err != nil {
			return r.fillError(err)
		}
		off = end
	}
	return nil
}

// copyChunk is how much Fill copies between checks of its context.
const copyChunk = 64 << 20

// copyRange copies [off, end) of the old file into the temporary file:
// with copy_file_range where it works, else by reading and writing.
func (r *Replacement) copyRange(ctx context.Context, off, end int64) error {
	var buf []byte
	for off < end {
		if err := ctx.Err(); err != nil {
			return err
		}
		n := min(end-off, copyChunk)
		if buf == nil {
			done, err := copyFileRange(r.File.f, r.old, off, n)
			if err == nil && done > 0 {
				off += done
				continue
			}
			if err != nil && !errors.Is(err, ErrNotSupported) {
				return err
			}
			buf = AlignedBuffer(4 << 20) // not supported, or the source shrank: read it
		}
		n = min(n, int64(len(buf)))
		got, err := r.old.ReadAt(buf[:n], off)
		if got > 0 {
			if _, werr := r.File.WriteAt(buf[:got], off); werr != nil {
				return werr
			}
			off += int64(got)
		}
		if err == io.EOF {
			return fmt.Errorf("%w: it shrank while being copied", ErrChanged)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// ErrChanged: the file being replaced changed while Fill copied it.
var ErrChanged = errors.New("sysio: file changed")

func (r *Replacement) fillError(err error) error {
	return fmt.Errorf("%s: copying it to %s as the starting point of the new version (the old and the new copy need room side by side): %w",
		r.display, r.TempPath(), err)
}

// Commit makes the temporary file the file: fsync, rename over the old
// name, fsync of the directory (so that the rename itself is durable).
// After Commit, File is the file, under its own name.
func (r *Replacement) Commit() error {
	if r.committed || r.closed {
		return fmt.Errorf("sysio: %s: replacement already committed or closed", r.display)
	}
	if err := r.File.Sync(); err != nil {
		return fmt.Errorf("fsync %s: %w", r.tempDisplay(), err)
	}
	if err := renameAt(r.dir, r.tmp, r.name); err != nil {
		return fmt.Errorf("%s: rename %s over it: %w", r.display, r.TempPath(), err)
	}
	r.committed = true
	r.File.name = r.display
	if err := syncDir(r.dir); err != nil {
		return fmt.Errorf("%s: fsync of its directory after the rename: %w", r.display, err)
	}
	return nil
}

// Committed reports whether Commit renamed the temporary file.
func (r *Replacement) Committed() bool { return r.committed }

// Close closes the files; before a successful Commit it also removes the
// temporary file, leaving the old file as it was. It may be called more
// than once.
func (r *Replacement) Close() error {
	if r.closed {
		return nil
	}
	r.closed = true
	err := r.File.Close()
	if !r.committed {
		if e := unlinkAt(r.dir, r.tmp); e != nil && !errors.Is(e, os.ErrNotExist) && err == nil {
			err = fmt.Errorf("remove %s: %w", r.TempPath(), e)
		}
	}
	r.closeOld()
	r.dir.Close()
	return err
}

func (r *Replacement) closeOld() {
	if r.old != nil {
		r.old.Close()
		r.old = nil
	}
}

// kindError says what a path is that cannot be replaced.
type kindError struct {
	what string
	err  error
}

func (e *kindError) Error() string { return "is " + e.what }
func (e *kindError) Unwrap() error { return e.err }

// oldInfo is what ReplaceAt keeps of the file it replaces.
type oldInfo struct {
	size     int64
	perm     os.FileMode
	dev, ino uint64
	uid, gid int
}
