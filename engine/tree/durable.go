package tree

import (
	"errors"
	"os"
	"path/filepath"
	"sync"

	"github.com/pdiffagent/pdiffagent/sysio"
)

// Durability is batched: nothing is fsynced while the tree is synced
// (the engine runs with DeferSync). At the end, the files written and the
// directories whose entries changed are fsynced together, or, once more
// than maxDurable of them were touched, the whole target filesystem is
// flushed with one syncfs (sysio.SyncFS; where there is none, each
// directory and file is then left to the system's writeback after an
// fsync of the root). A crash before that point can leave any file of
// the tree partly written, an entry created but empty, or a directory
// without its final mode and mtime; every such file differs from the
// source in size or mtime (the mtime is set last), so a rerun compares
// and repairs it. An fsync costs a journal commit each (3-12 ms here:
// 124 of them 0.35-1.2 s, one sync of the same 0.05-0.17 s, at load 7),
// so only a few paths are worth fsyncing one by one; past them a syncfs,
// which also waits for other processes' writes to that filesystem (the
// reason not to use it for a handful of paths).
const maxDurable = 32

type durable struct {
	mu       sync.Mutex
	paths    map[string]struct{}
	overflow bool
}

// add notes path (a file written, or a directory whose entries changed)
// for the final flush.
func (d *durable) add(path string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.overflow {
		return
	}
	if d.paths == nil {
		d.paths = make(map[string]struct{})
	}
	d.paths[path] = struct{}{}
	if len(d.paths) > maxDurable {
		d.overflow, d.paths = true, nil
	}
}

// entryChanged notes that the entry path was created, replaced or
// removed: its directory changed.
func (d *durable) entryChanged(path string) { d.add(filepath.Dir(path)) }

// flush makes what was noted durable; root is the target directory.
func (d *durable) flush(root string) error {
	d.mu.Lock()
	paths, overflow := d.paths, d.overflow
	d.mu.Unlock()
	if !overflow && len(paths) == 0 {
		return nil
	}
	if overflow {
		return syncFS(root)
	}
	var errs []error
	for p := range paths {
		f, err := os.Open(p)
		if errors.Is(err, os.ErrNotExist) {
			continue // removed since (replaced by a later entry, or deleted)
		}
		if err == nil {
			err = f.Sync()
			f.Close()
		}
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// syncFS flushes the filesystem holding root (where there is no syncfs,
// only root itself: the files are left to the system's writeback).
func syncFS(root string) error {
	r, err := os.Open(root)
	if err != nil {
		return err
	}
	defer r.Close()
	if err := sysio.SyncFS(r); !errors.Is(err, sysio.ErrNotSupported) {
		return err
	}
	return r.Sync()
}
