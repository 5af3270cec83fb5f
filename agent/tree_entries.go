package agent

import (
	"errors"
	"io/fs"
	"os"
	"path"
	"sync/atomic"
	"time"

	"github.com/pdiffagent/pdiffagent/engine/tree"
	"github.com/pdiffagent/pdiffagent/sysio"
	"github.com/pdiffagent/pdiffagent/wire"
)

// The tree server's entries: what it says of them (stat, list) and what
// it sets on them (meta, link times), beneath the tree's os.Root.

// stat describes rel without following it.
func (t *treeServer) stat(rel string) (wire.TreeEntry, error) {
	return statIn(t.tr, rel)
}

// statIn is stat of rel beneath the root r.
func statIn(r *os.Root, rel string) (wire.TreeEntry, error) {
	e, _, err := lstatIn(r, rel)
	return e, err
}

// lstatIn is statIn with the lstat it made.
func lstatIn(r *os.Root, rel string) (wire.TreeEntry, fs.FileInfo, error) {
	fi, err := r.Lstat(rel)
	if err != nil {
		return wire.TreeEntry{}, nil, err
	}
	e := treeEntryOf(fi)
	if fi.Mode()&fs.ModeSymlink != 0 {
		if e.Link, err = r.Readlink(rel); err != nil {
			return wire.TreeEntry{}, nil, err
		}
		if len(e.Link) > wire.MaxPathLen {
			e.Link = ""
		}
	}
	return e, fi, nil
}

// meta sets what req's Flags ask of rel: never through a symlink (a
// symlink's mode is not set; its time is set on the link itself).
func (t *treeServer) meta(rel string, req *wire.TreeReq) error {
	fi, err := t.tr.Lstat(rel)
	if err != nil {
		return err
	}
	link := fi.Mode()&fs.ModeSymlink != 0
	if req.Flags&wire.TreeMetaOwner != 0 {
		if !t.s.cfg.AllowOwner || !t.p.Owner {
			return codeErrorf(wire.CodeDenied, "%s: this server does not apply a client's owner and group", rel)
		}
		if err := t.tr.Lchown(rel, int(req.Uid), int(req.Gid)); err != nil {
			return err
		}
	}
	if req.Flags&wire.TreeMetaMode != 0 && !link {
		m := fs.FileMode(req.Mode)
		if err := t.tr.Chmod(rel, m.Perm()|m&(fs.ModeSetuid|fs.ModeSetgid|fs.ModeSticky)); err != nil {
			return err
		}
	}
	if req.Flags&wire.TreeMetaTime != 0 {
		mt := time.Unix(0, req.ModTime)
		if !link {
			return t.tr.Chtimes(rel, mt, mt)
		}
		return t.linkTimes(rel, mt)
	}
	return nil
}

// linkTimes sets a symlink's own mtime: through its directory, opened
// beneath the tree's root, and the link's base name.
func (t *treeServer) linkTimes(rel string, mt time.Time) error {
	dir, err := t.tr.Open(path.Dir(rel))
	if err != nil {
		return err
	}
	defer dir.Close()
	return lutimesAt(dir, path.Base(rel), mt)
}

// mknod makes the device node rel like the client's (req.Mode's kind and
// permission bits, req.Size the device number): only with listen
// --allow-devices, and as root (mknod's own rule). It is made with
// mknodat through its directory, opened beneath the tree's root, and its
// base name: inside the tree, whatever the client names.
func (t *treeServer) mknod(rel string, req *wire.TreeReq) error {
	if !t.s.cfg.AllowDevices {
		return codeErrorf(wire.CodeDenied, "%s: this server does not create devices (listen --allow-devices)", rel)
	}
	m := fs.FileMode(req.Mode)
	if m&fs.ModeDevice == 0 || m&fs.ModeType&^(fs.ModeDevice|fs.ModeCharDevice) != 0 {
		return codeErrorf(wire.CodeBadRequest, "%s: mode %v is not a device's", rel, m)
	}
	dir, err := t.tr.Open(path.Dir(rel))
	if err != nil {
		return err
	}
	defer dir.Close()
	return sysio.MknodAt(dir, path.Base(rel), deviceMode(m), uint64(req.Size))
}

// flush makes the files and directories written durable: one syncfs of
// the tree's file system (the files ran with engine.Options.DeferSync).
func (t *treeServer) flush() error {
	if t.p.DryRun || t.pull {
		return nil
	}
	f, err := t.tr.Open(".")
	if err != nil {
		return err
	}
	defer f.Close()
	if err := sysio.SyncFS(f); !errors.Is(err, sysio.ErrNotSupported) {
		return err
	}
	return f.Sync()
}

// list sends rel's sorted listing in batches of at most wire.MaxTreeBatch,
// with its files' record digests when the client asked (records) and may
// have them (tree_listrecords.go).
// The names are sorted in bounded memory (tree.ReadNames: on disk past
// the sort threshold's names) and each is stat'ed as it is sent, so that
// a directory of any size costs the server one chunk of names and a
// batch, whoever asks for it.
func (t *treeServer) list(p string, records bool) error {
	rel, err := treeRel(p, true)
	var names *tree.Names
	if err == nil && t.tr != nil {
		names, err = t.readNames(rel)
	}
	if err != nil {
		if serr := t.ctl.Send(treeReplyErr(err)); serr != nil {
			return errTreeFatal
		}
		return err
	}
	if names != nil {
		defer names.Close()
		if runs := names.Runs(); runs > 0 {
			t.log.Debug("large directory sorted on disk", "dir", rel, "runs", runs)
		}
	}
	// stat beneath the directory opened once, not through each entry's
	// whole path (an open and a close per entry)
	dir, pre := t.tr, rel
	if rel != "." && names != nil {
		if sub, err := t.tr.OpenRoot(rel); err == nil {
			defer sub.Close()
			dir, pre = sub, "."
		}
	}
	batch := &wire.TreeEntries{}
	recs := t.listRecords(dir, pre, records)
	for names != nil {
		n, ok := names.Next()
		if !ok {
			break
		}
		e, fi, err := lstatIn(dir, path.Join(pre, n))
		if err != nil || len(n) > wire.MaxNameLen {
			continue // vanished since the listing, or a name the wire cannot carry
		}
		e.Name = n
		recs.digest(&e, fi)
		if hook := testHookTreeEntry.Load(); hook != nil {
			(*hook)(&e) // a hostile server's listing
		}
		batch.Entries = append(batch.Entries, e)
		if len(batch.Entries) == wire.MaxTreeBatch {
			if err := t.ctl.Send(batch); err != nil {
				return errTreeFatal
			}
			batch.Entries = batch.Entries[:0]
		}
	}
	// A listing that fails part way ends with an error, not with Last:
	// the client must not take a cut listing for the whole directory.
	if names != nil && names.Err() != nil {
		if serr := t.ctl.Send(treeReplyErr(treeError(rel, names.Err()))); serr != nil {
			return errTreeFatal
		}
		return names.Err()
	}
	batch.Last = true
	if err := t.ctl.Send(batch); err != nil {
		return errTreeFatal
	}
	return nil
}

// testHookTreeEntry, when not nil, may change each entry a listing
// sends: tests play a hostile server with it.
var testHookTreeEntry atomic.Pointer[func(*wire.TreeEntry)]

// readNames is rel's names, sorted (nil: a missing directory or one that
// is no directory has none).
func (t *treeServer) readNames(rel string) (*tree.Names, error) {
	if rel != "." {
		fi, err := t.tr.Lstat(rel)
		if errors.Is(err, fs.ErrNotExist) || (err == nil && !fi.IsDir()) {
			return nil, nil
		}
		if err != nil {
			return nil, treeError(rel, err)
		}
	}
	f, err := t.tr.Open(rel)
	if err != nil {
		return nil, treeError(rel, err)
	}
	defer f.Close()
	names, err := tree.ReadNames(f)
	return names, treeErr(rel, err)
}

func treeEntryOf(fi fs.FileInfo) wire.TreeEntry {
	m := fi.Mode()
	e := wire.TreeEntry{Mode: uint32(m), Size: fi.Size(), ModTime: fi.ModTime().UnixNano()}
	switch {
	case m.IsRegular():
		e.Kind = 1
	case m.IsDir():
		e.Kind, e.Size = 2, 0
	case m&fs.ModeSymlink != 0:
		e.Kind, e.Size = 3, 0
	case m&fs.ModeDevice != 0:
		e.Kind, e.Size = 4, 0
	default:
		e.Kind, e.Size = 5, 0
	}
	statIDs(fi, &e)
	return e
}
