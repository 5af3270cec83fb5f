package agent

import (
	"errors"
	"io/fs"
	"os"
	"path"

	"github.com/pdiffagent/pdiffagent/sysio"
	"github.com/pdiffagent/pdiffagent/wire"
)

// serverOpener is the server's engine.Opener for one session: the engine
// runs the lifecycle of the session's files (engine/target.go), and every
// name it opens, creates, replaces or removes is resolved here, beneath
// the root's directory handle (the jail: openat2 with RESOLVE_BENEATH),
// checked for its kind, and locked for the session (locks.go). Checks the
// server makes on a file it opens belong in this type's methods, which
// are the only way the server reaches a file.
type serverOpener struct {
	s         *Server
	size, end int64            // a push's source size and range end, for the room checks (space.go)
	direct    sysio.DirectMode // O_DIRECT policy of the files it opens (ServerConfig.DirectRead)
	key       fileKey          // the locked file
	locked    bool
}

// Open opens rel, an existing file, and locks it (shared unless write).
func (o *serverOpener) Open(rel string, write bool) (*sysio.File, error) {
	mode := openRead
	if write {
		mode = openWrite
	}
	f, key, err := o.s.jail.open(rel, mode)
	var ce *codeError
	if errors.As(err, &ce) && ce.code == wire.CodeNotFound {
		return nil, &missingError{ce}
	}
	if err != nil {
		return nil, err
	}
	if write {
		// The target grows to the range's end: is the room there?
		if fi, err := f.Stat(); err == nil && fi.Mode().IsRegular() {
			if err := o.s.checkRoom(f, rel, o.size, o.end-fi.Size()); err != nil {
				f.Close()
				return nil, err
			}
		}
	}
	return o.lock(rel, f, key, write)
}

// CheckParent checks that rel's directory exists beneath the root.
func (o *serverOpener) CheckParent(rel string) error { return o.s.jail.parentExists(rel) }

// Create creates rel beneath the root, if its directory has room for
// it, and locks it. It must not exist yet: a file that appeared meanwhile
// is not taken for one this session created.
func (o *serverOpener) Create(rel string) (*sysio.File, error) {
	dir, err := o.s.jail.openDir(rel)
	if err == nil {
		err = o.s.checkRoom(dir, rel, o.size, o.end)
		dir.Close()
		if err != nil {
			return nil, err
		}
	}
	f, key, err := o.s.jail.open(rel, openCreateNew)
	if err != nil {
		return nil, err
	}
	return o.lock(rel, f, key, true)
}

// Replace starts rel's atomic replacement in its directory, opened beneath
// the root (atomic.go), and locks the target. A target with other names
// is replaced but not copied, unless the server allows hard links
// (guard.go).
func (o *serverOpener) Replace(rel string) (*sysio.Replacement, bool, error) {
	dir, err := o.s.jail.openDir(rel)
	if err != nil {
		return nil, false, err
	}
	// The new copy is whole beside the old one until the rename.
	if err := o.s.checkRoom(dir, rel, o.size, o.size); err != nil {
		dir.Close()
		return nil, false, err
	}
	r, err := sysio.ReplaceAt(dir, path.Base(rel), rel, sysio.Options{Direct: o.direct})
	switch {
	case errors.Is(err, sysio.ErrSymlink):
		return nil, false, codeErrorf(wire.CodeDenied, "%v", err)
	case errors.Is(err, sysio.ErrNotRegular):
		return nil, false, codeErrorf(wire.CodeBadRequest, "%v", err)
	case err != nil:
		return nil, false, codeErrorf(wire.CodeIO, "%v", err)
	}
	key := fileKey{path: rel}
	if dev, ino, ok := r.OldID(); ok {
		key = fileKey{dev: dev, ino: ino}
	}
	if err := o.tryLock(rel, key, true); err != nil {
		r.Close()
		return nil, false, err
	}
	if o.s.cfg.AllowHardlinks {
		return r, true, nil
	}
	// The name is replaced, the other names keep the old file; start
	// empty rather than from a copy of a file that may not be ours.
	n, err := r.OldLinks()
	if err != nil {
		r.Close()
		return nil, false, codeErrorf(wire.CodeIO, "%s: %v", rel, err)
	}
	return r, n <= 1, nil
}

// Remove removes rel, a file Create made, from its directory beneath the
// root, if the name still refers to f.
func (o *serverOpener) Remove(rel string, f *sysio.File) error {
	dir, err := o.s.jail.openDir(rel)
	if err != nil {
		return err
	}
	defer dir.Close()
	return sysio.RemoveAt(dir, path.Base(rel), f.OS())
}

// lock checks the file f opened (guard.go), locks it and wraps it.
func (o *serverOpener) lock(rel string, f *os.File, key fileKey, write bool) (*sysio.File, error) {
	if err := checkLinks(f, rel, o.s.cfg.AllowHardlinks); err != nil {
		f.Close()
		return nil, err
	}
	if err := o.tryLock(rel, key, write); err != nil {
		f.Close()
		return nil, err
	}
	// An advisory lock too, for cooperating processes on the server's
	// machine (released when the file is closed).
	switch err := sysio.Lock(f, write, false); {
	case errors.Is(err, sysio.ErrLocked):
		f.Close()
		o.unlock()
		return nil, codeErrorf(wire.CodeBusy, "%s is locked by another process on the server (flock)", rel)
	case err != nil && !errors.Is(err, sysio.ErrNotSupported):
		f.Close()
		o.unlock()
		return nil, codeErrorf(wire.CodeIO, "%s: %v", rel, err)
	}
	sf, err := sysio.FromOS(f, sysio.Options{Direct: o.direct})
	if err != nil {
		f.Close()
		return nil, codeErrorf(wire.CodeIO, "%s: %v", rel, err)
	}
	return sf, nil
}

func (o *serverOpener) tryLock(rel string, key fileKey, write bool) error {
	if !o.s.locks.tryLock(key, write) {
		return codeErrorf(wire.CodeBusy, "%s is busy with another transfer", rel)
	}
	o.key, o.locked = key, true
	return nil
}

// unlock releases the session's lock.
func (o *serverOpener) unlock() {
	if o.locked {
		o.s.locks.unlock(o.key)
		o.locked = false
	}
}

// missingError is a file that does not exist beneath the root: the
// client's message as the jail words it, and fs.ErrNotExist for the
// engine.
type missingError struct{ *codeError }

func (e *missingError) Is(target error) bool { return target == fs.ErrNotExist }
func (e *missingError) Unwrap() error        { return e.codeError }
