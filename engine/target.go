package engine

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/pdiffagent/pdiffagent/sysio"
)

// Opening the files of a sync is one lifecycle, written once here and used
// by every side that writes a target (a local sync, a pull, a server's
// push, pipe mode's save):
//
//   - OpenTarget opens an existing target (read-only in a dry run). A
//     missing one is checked for a parent directory, and left missing
//     until Create: a pull creates it only once the server has accepted
//     the session, the others at once. A dry run never creates it (the
//     receiver compares against nothing).
//   - With atomic (never in a dry run), OpenTarget instead starts the
//     replacement: a temporary file beside the target, filled with a
//     clone or copy of it (sysio.Replacement); Commit renames it over the
//     target once the result is verified.
//   - Close closes the target; it removes an uncommitted temporary file.
//     A sync that failed before writing a block leaves a regular-file
//     target as it found it: a target Create made is removed, one the
//     receiver extended is cut back to its old size. Once blocks were
//     written, the target stays partly updated (rerunning repairs it).
//
// Where the files live is the Opener's business: LocalOpener opens paths
// of the local filesystem; the server's opener (agent/opener.go) opens
// names relative to its root's directory handle, so the jail and every
// check the server makes on a file it opens (kind, locks) apply to every
// path through this lifecycle and cannot be bypassed.

// Opener opens the files of a sync by name.
type Opener interface {
	// Open opens an existing file, for writing if write. A missing file's
	// error satisfies errors.Is(err, fs.ErrNotExist).
	Open(name string, write bool) (*sysio.File, error)
	// CheckParent reports why a missing file could not be created: its
	// parent directory is missing or is not a directory; nil if it can.
	CheckParent(name string) error
	// Create creates a missing file and opens it for writing.
	Create(name string) (*sysio.File, error)
	// Replace starts the atomic replacement of name (which may be
	// missing). fill says whether the replacement is to start as a copy
	// of the old target (OpenTarget makes it); false starts it empty (a
	// server does so for a file whose other names must keep the old data).
	Replace(name string) (r *sysio.Replacement, fill bool, err error)
	// Remove removes name, a file Create made and f its open file (an
	// opener may leave a name that no longer refers to f).
	Remove(name string, f *sysio.File) error
}

// OpenSource opens a sync's source for reading.
func OpenSource(op Opener, name string) (*Source, error) {
	f, err := op.Open(name, false)
	if err != nil {
		return nil, err
	}
	src, err := NewSource(f)
	if err != nil {
		f.Close()
		return nil, err
	}
	return src, nil
}

// Target is the file a receiver writes: the target itself, or an atomic
// replacement's temporary file.
type Target struct {
	// File is what the receiver writes; nil for a missing target before
	// Create, and in a dry run against a missing target.
	File *sysio.File

	op      Opener
	name    string
	dryRun  bool
	created bool
	oldSize int64 // an existing regular file's size when opened
	repl    *sysio.Replacement
}

// OpenTarget opens the target name for a sync (see above). With atomic,
// ctx bounds the copy of the old target into its replacement.
func OpenTarget(ctx context.Context, op Opener, name string, dryRun, atomic bool) (*Target, error) {
	t := &Target{op: op, name: name, dryRun: dryRun}
	if atomic && !dryRun {
		r, fill, err := op.Replace(name)
		if err != nil {
			return nil, err
		}
		if fill {
			if err := r.Fill(ctx); err != nil {
				r.Close()
				return nil, err
			}
		}
		t.repl, t.File = r, r.File
		return t, nil
	}
	f, err := op.Open(name, !dryRun)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if err := op.CheckParent(name); err != nil {
			return nil, err
		}
	case err != nil:
		return nil, err
	case !f.IsDevice():
		if t.oldSize, err = f.Size(); err != nil {
			f.Close()
			return nil, err
		}
	}
	t.File = f
	return t, nil
}

// Missing reports whether the target does not exist (yet).
func (t *Target) Missing() bool { return t.File == nil }

// Create creates a missing target, unless this is a dry run.
func (t *Target) Create() error {
	if t.File != nil || t.dryRun {
		return nil
	}
	f, err := t.op.Create(t.name)
	if err != nil {
		return err
	}
	t.File, t.created = f, true
	return nil
}

// Atomic reports whether the target is an atomic replacement.
func (t *Target) Atomic() bool { return t.repl != nil }

// Commit makes an atomic replacement the target (a no-op otherwise, or
// once done).
func (t *Target) Commit() error {
	if t == nil || t.repl == nil || t.repl.Committed() {
		return nil
	}
	return t.repl.Commit()
}

// basis is the file an atomic replacement started as a copy of, if any.
func (t *Target) basis() *sysio.File {
	if t == nil || t.repl == nil {
		return nil
	}
	return t.repl.Basis()
}

// ReceiveTarget runs the receiver's side into t, as Receive into t.File.
// For an atomic replacement it takes the target's hashes from the record
// of the file being replaced, which the replacement started as a copy of
// (valid while that file's identity still matches its record: nothing
// changed it before or during the copy), and it commits the replacement
// (the rename) once the result is verified, synced and its metadata set,
// before the target's record is made and the FinalAck goes out: the
// record holds the identity of the file in place after the rename, and
// a client told "verified" finds it there.
func ReceiveTarget(ctx context.Context, t *Target, p Params, streams []Stream, opt Options) (Stats, error) {
	return receive(ctx, t.File, t, p, streams, opt)
}

// Close closes the target. An atomic replacement not committed is
// removed. When the sync failed (err) before writing a block (st), a
// regular-file target is left as it was found (see above); Close reports
// a failure to do so.
func (t *Target) Close(err error, st Stats) error {
	var undo, cerr error
	switch {
	case t.repl != nil:
		cerr = t.repl.Close()
	case t.File != nil:
		if err != nil && !t.dryRun && !t.File.IsDevice() && st.BytesWritten == 0 && st.BlocksZero == 0 {
			undo = t.undo()
		}
		cerr = t.File.Close()
	}
	t.File, t.repl = nil, nil
	return errors.Join(undo, cerr)
}

// undo removes a target Create made, or cuts an extended one back.
func (t *Target) undo() error {
	if t.created {
		if err := t.op.Remove(t.name, t.File); err != nil {
			return fmt.Errorf("could not remove %s, created for the failed sync: %w", t.name, err)
		}
		return nil
	}
	if size, err := t.File.Size(); err == nil && size > t.oldSize {
		if err := t.File.Truncate(t.oldSize); err != nil {
			return fmt.Errorf("could not cut %s back to its size before the failed sync: %w", t.name, err)
		}
	}
	return nil
}

// LocalOpener opens paths of the local filesystem.
type LocalOpener struct {
	// Direct is the O_DIRECT policy of the files it opens.
	Direct sysio.DirectMode
}

func (o LocalOpener) opts() sysio.Options { return sysio.Options{Direct: o.Direct} }

// Open opens path read-only, or read-write, and takes an advisory lock on
// it (flock: shared, or exclusive for writing) that lasts until it is
// closed, so that cooperating writers wait for the sync. A writer that
// ignores the lock can still change the file under a sync.
func (o LocalOpener) Open(path string, write bool) (*sysio.File, error) {
	mode := sysio.ReadOnly
	if write {
		mode = sysio.ReadWrite
	}
	f, err := sysio.Open(path, mode, o.opts())
	if err != nil {
		return nil, err
	}
	if err := lockFile(f, path, write); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// lockFile takes flock on f without waiting; a filesystem without flock
// is synced unlocked.
func lockFile(f *sysio.File, path string, write bool) error {
	err := sysio.Lock(f.OS(), write, false)
	switch {
	case errors.Is(err, sysio.ErrLocked):
		return fmt.Errorf("%s is locked by another process (flock): wait for it, or stop it", path)
	case errors.Is(err, sysio.ErrNotSupported):
		return nil
	}
	return err
}

// CheckParent checks that path's directory exists.
func (o LocalOpener) CheckParent(path string) error {
	fi, err := os.Stat(filepath.Dir(path))
	switch {
	case err != nil:
		return fmt.Errorf("%s: parent directory: %w", path, err)
	case !fi.IsDir():
		return fmt.Errorf("%s: parent is not a directory", path)
	}
	return nil
}

// Create creates path, locked as Open locks it.
func (o LocalOpener) Create(path string) (*sysio.File, error) {
	f, err := sysio.Open(path, sysio.Create, o.opts())
	if err != nil {
		return nil, err
	}
	if err := lockFile(f, path, true); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// Replace starts path's atomic replacement (sysio.Replace), to be filled.
func (o LocalOpener) Replace(path string) (*sysio.Replacement, bool, error) {
	r, err := sysio.Replace(path, o.opts())
	return r, true, err
}

// Remove removes path.
func (o LocalOpener) Remove(path string, _ *sysio.File) error { return os.Remove(path) }
