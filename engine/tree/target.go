package tree

import (
	"context"
	"os"
	"path/filepath"
	"time"

	"github.com/pdiffagent/pdiffagent/engine"
	"github.com/pdiffagent/pdiffagent/sysio"
)

// Target is the side a tree sync writes: a local directory (Sync), or a
// server's, through a tree session (the agent's implementation, SyncTo).
// The walker plans every entry from the source and the Target's listings
// and asks the Target for each operation, so that both run the same plan.
// Paths are the Target's own: Join builds them from the root given to
// SyncTo (local: file system paths; remote: '/'-separated paths relative
// to the tree's directory, "." for the directory itself). Its methods may
// be called from several goroutines (the walker's, and the files' jobs).
type Target interface {
	Join(dir, name string) string
	// List is the directory's entries, sorted by name, as lstat sees
	// them (a symlink's text in Link); a missing directory has none. It
	// streams: a directory of any size costs bounded memory (names.go).
	List(dir string) (Listing, error)
	// Lstat describes path (never following it); fs.ErrNotExist if missing.
	Lstat(path string) (Dirent, error)
	Mkdir(path string) error // mode 0700, set by Meta once its contents are done
	Symlink(path, text string) error
	Link(first, path string) error // a hard link
	Remove(path string) error      // an entry, a directory with its contents; a symlink is never followed
	Rmdir(path string) error       // an empty directory
	Mknod(path string, e Entry) error
	// Meta gives path what of src's owner, mode and mtime what says.
	Meta(path string, src Entry, what Meta) error
	// SyncFile runs the engine on the source file sp and its target path
	// (de: what the target held, Kind 0 for nothing).
	SyncFile(ctx context.Context, sp, path string, se, de Entry, p engine.Params, opt engine.Options, atomic bool) (engine.Stats, error)
	// Flush makes what the sync wrote durable.
	Flush() error
}

// Source is the side a tree sync reads: a local directory (Sync), or a
// server's (the agent's pull). Its paths are its own, as a Target's.
type Source interface {
	Join(dir, name string) string
	// List is as Target.List.
	List(dir string) (Listing, error)
	// Root describes the tree's directory src (a local one named through
	// a symlink is followed, as the user named it).
	Root(src string) (Entry, error)
}

// Dirent is an entry of a Target: its name, its metadata, and a
// symlink's text.
type Dirent struct {
	Name string
	Entry
	Link string
}

// Meta says which metadata Target.Meta sets.
type Meta uint8

// Parts of Meta.
const (
	MetaMode Meta = 1 << iota
	MetaTime
	MetaOwner
)

// localTarget is a local directory, as a Target and as a Source; it
// batches durability (durable.go).
type localTarget struct {
	dur   durable
	root  string // the target directory (syncInto's): Flush makes it durable
	fetch Fetch  // SyncFrom's: files come from another Source than the local file system
}

func (*localTarget) Join(dir, name string) string { return filepath.Join(dir, name) }

func (*localTarget) List(dir string) (Listing, error) { return listLocal(dir) }

func localLstat(path string) (Dirent, error) {
	e, err := lstat(path)
	if err != nil {
		return Dirent{}, err
	}
	d := Dirent{Name: filepath.Base(path), Entry: e}
	if e.Kind == KindSymlink {
		if d.Link, err = os.Readlink(path); err != nil {
			return Dirent{}, err
		}
	}
	return d, nil
}

func (*localTarget) Lstat(path string) (Dirent, error) { return localLstat(path) }

func (*localTarget) Root(path string) (Entry, error) { return lstatFollow(path) }

func (t *localTarget) Mkdir(path string) error {
	t.dur.entryChanged(path)
	return os.Mkdir(path, 0o700)
}

func (t *localTarget) Symlink(path, text string) error {
	t.dur.entryChanged(path)
	return os.Symlink(text, path)
}

func (t *localTarget) Link(first, path string) error {
	t.dur.entryChanged(path)
	return os.Link(first, path)
}

func (t *localTarget) Remove(path string) error {
	t.dur.entryChanged(path)
	return os.RemoveAll(path)
}

func (t *localTarget) Rmdir(path string) error {
	t.dur.entryChanged(path)
	return os.Remove(path)
}

func (t *localTarget) Mknod(path string, e Entry) error {
	t.dur.entryChanged(path)
	return sysio.Mknod(path, unixMode(e.Mode), e.Rdev)
}

func (*localTarget) Meta(path string, src Entry, what Meta) error {
	if what&MetaOwner != 0 {
		if err := os.Lchown(path, int(src.Uid), int(src.Gid)); err != nil {
			return err
		}
	}
	if what&MetaMode != 0 {
		if err := os.Chmod(path, src.Mode.Perm()|src.Mode&specialBits); err != nil {
			return err
		}
	}
	if what&MetaTime != 0 {
		return sysio.Lutimes(path, time.Unix(0, src.ModTime))
	}
	return nil
}

func (t *localTarget) SyncFile(ctx context.Context, sp, dp string, se, de Entry, p engine.Params, opt engine.Options, atomic bool) (engine.Stats, error) {
	if de.Kind == 0 && !p.DryRun {
		t.dur.entryChanged(dp)
	}
	var (
		st  engine.Stats
		err error
	)
	switch {
	case t.fetch != nil:
		st, err = t.fetch(ctx, sp, dp, se, de, p, opt, atomic)
	case atomic:
		st, err = engine.SyncLocalAtomic(ctx, sp, dp, p, opt)
	default:
		st, err = engine.SyncLocal(ctx, sp, dp, p, opt)
	}
	// A file recorded (opt.Records) is flushed too, written or not: its
	// record trusts data an interrupted run may have left unsynced.
	if err == nil && !p.DryRun && (st.BlocksChanged > 0 || de.Kind == 0 || de.Size != se.Size || opt.Records != nil) {
		t.dur.add(dp)
	}
	return st, err
}

// testHookFlush, when not nil, runs as a local target's Flush begins; an
// error it returns is Flush's (a crash before the tree is durable).
var testHookFlush func() error

func (t *localTarget) Flush() error {
	if t.root == "" {
		return nil
	}
	if testHookFlush != nil {
		if err := testHookFlush(); err != nil {
			return err
		}
	}
	return t.dur.flush(t.root)
}

// LocalSource is the local file system as a tree's Source (paths are
// file system paths).
func LocalSource() Source { return new(localTarget) }
