package engine

import (
	"errors"
	"fmt"
	"io/fs"
	"time"

	"github.com/pdiffagent/pdiffagent/sysio"
	"github.com/pdiffagent/pdiffagent/wire"
)

// writeZero makes block i (n bytes) all zeros: a hole in a regular file
// (nothing to do past the old end, which prepare left as a hole), zeros
// written on a device, under NoSparse, or where holes cannot be punched.
// Only zeros actually written count as bytes written.
func (r *receiver) writeZero(i int64, n int) error {
	return r.writeZeroAt(i*int64(r.p.BlockSize), n)
}

// writeZeroAt makes the n bytes at off zeros, as writeZero does a block.
func (r *receiver) writeZeroAt(off int64, n int) error {
	if !r.dst.IsDevice() && off >= r.oldSize {
		return nil
	}
	if err := r.cache.beforeWrite(); err != nil {
		return err
	}
	if !r.dst.IsDevice() && !r.p.NoSparse {
		err := r.dst.PunchHole(off, int64(n))
		if err == nil {
			return nil
		}
		if !errors.Is(err, sysio.ErrNotSupported) {
			return fmt.Errorf("punch hole in %s: %w", r.dst.Name(), err)
		}
	}
	r.zerosOnce.Do(func() { r.zeros = sysio.AlignedBuffer(r.p.BlockSize) })
	if _, err := r.dst.WriteAt(r.zeros[:n], off); err != nil {
		return fmt.Errorf("write %s: %w", r.dst.Name(), err)
	}
	r.countWritten(n)
	return nil
}

func (r *receiver) countWritten(n int) {
	r.tot.written.Add(int64(n))
	r.flush.wrote(n)
	if r.opt.Progress != nil {
		r.opt.Progress.Written.Add(int64(n))
	}
}

// commit makes the target final: its size (a whole-file sync truncates a
// longer file), fsync (unless Options.DeferSync, or the session wrote
// nothing to a target whose record it used: the session that made the
// record synced it, and nothing wrote it since), then the source's mode
// and mtime on a regular file.
func (r *receiver) commit(f *wire.Final) error {
	dev := r.dst.IsDevice()
	if !dev && !r.p.Partial() && r.oldSize > r.p.Size {
		if err := r.cache.beforeWrite(); err != nil {
			return err
		}
		if err := r.dst.Truncate(r.p.Size); err != nil {
			return fmt.Errorf("truncate %s: %w", r.dst.Name(), err)
		}
	}
	if err := r.flush.stop(); err != nil {
		return err
	}
	if !r.opt.DeferSync && !r.cache.clean() {
		if err := r.dst.Sync(); err != nil {
			return fmt.Errorf("fsync %s: %w", r.dst.Name(), err)
		}
	}
	size, err := r.dst.Size()
	if err != nil {
		return err
	}
	if want := r.p.End; size < want || (!dev && !r.p.Partial() && size != r.p.Size) {
		return fmt.Errorf("%w: %s is %d bytes after the sync, want %d", ErrVerify, r.dst.Name(), size, r.p.Size)
	}
	if dev {
		return nil
	}
	if r.p.Owner {
		if err := r.dst.Chown(f.Uid, f.Gid); err != nil {
			return fmt.Errorf("chown %s: %w", r.dst.Name(), err)
		}
	}
	// Mode and mtime are set only when they differ: setting them moves
	// ctime, and an unchanged target keeps its record (fileCache.unchanged).
	_, mtime, mode, err := r.dst.Stat()
	if err != nil {
		return err
	}
	if !r.p.NoPerms && f.Mode != 0 && mode.Perm() != fs.FileMode(f.Mode).Perm() {
		if err := r.dst.OS().Chmod(fs.FileMode(f.Mode).Perm()); err != nil {
			return fmt.Errorf("chmod %s: %w", r.dst.Name(), err)
		}
	}
	if !r.p.NoTimes && f.ModTime != 0 && mtime != f.ModTime {
		if err := r.dst.SetModTime(time.Unix(0, f.ModTime)); err != nil {
			return fmt.Errorf("set mtime of %s: %w", r.dst.Name(), err)
		}
	}
	return nil
}
