package cache

import (
	"cmp"
	"errors"
	"fmt"
	"os"

	"github.com/pdiffagent/pdiffagent/sysio"
)

// Group commits many records with the cost of a few syncs rather than
// three per record (a tree of files must not cause an fsync storm). The
// crash rules are those of one record: every record's data is on stable
// storage before any of them is renamed into place, and the directory is
// synced once after the last rename.
type Group struct {
	store *Store
	ws    []*Writer
	fs    []*sysio.File
}

// Group starts a group commit.
func (s *Store) Group() *Group { return &Group{store: s} }

// Add adds w, the record of f, to the group. f must be verified, synced
// and written for the last time.
func (g *Group) Add(w *Writer, f *sysio.File) {
	g.ws = append(g.ws, w)
	g.fs = append(g.fs, f)
}

// Commit takes the identities of the files once their racy window has
// passed (settle), writes the headers, makes the records durable (one
// syncfs for groupSyncFS records or more where the platform has it, else
// one fsync per record), renames
// them into place and syncs the directory. A record that cannot be
// finished is dropped alone (its error is returned); any other failure
// aborts every record of the group not yet renamed.
func (g *Group) Commit() (err error) {
	defer func() {
		for _, w := range g.ws {
			w.Abort()
		}
	}()
	if len(g.ws) == 0 {
		return nil
	}
	ids, err := settle(g.fs)
	if err != nil {
		return err
	}
	// A record that cannot be finished (its file changed, it is
	// incomplete) is dropped alone: the others are still made.
	var first error
	ok := g.ws[:0:0]
	for i, w := range g.ws {
		if err := w.finish(g.fs[i], ids[i]); err != nil {
			w.Abort()
			first = cmp.Or(first, err)
			continue
		}
		ok = append(ok, w)
	}
	if len(ok) == 0 {
		return first
	}
	g.ws = ok
	if err := g.sync(); err != nil {
		return err
	}
	keep := map[string]bool{}
	for _, w := range g.ws {
		w.f.Close()
		if err := os.Rename(w.tmp, g.store.path(w.key)); err != nil {
			return fmt.Errorf("cache: %w", err)
		}
		w.done = true
		keep[w.key] = true
	}
	if err := g.store.syncDir(); err != nil {
		return err
	}
	g.store.evict(keep)
	return first
}

// groupSyncFS is the number of records from which a group is made
// durable with one syncfs rather than an fsync each: syncfs writes out
// every dirty page of the filesystem, other programs' too, which on a busy
// server costs more than a few fsyncs of small files.
const groupSyncFS = 16

func (g *Group) sync() error {
	if len(g.ws) >= groupSyncFS {
		err := sysio.SyncFS(g.ws[0].f)
		if err == nil {
			return nil
		}
		if !errors.Is(err, sysio.ErrNotSupported) {
			return fmt.Errorf("cache: %w", err)
		}
	}
	for _, w := range g.ws {
		if err := w.f.Sync(); err != nil {
			return fmt.Errorf("cache: %w", err)
		}
	}
	return nil
}

// finish checks that w covers every block of f as f is now (id) and
// writes the header.
func (w *Writer) finish(f *sysio.File, id sysio.Identity) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err != nil {
		return w.err
	}
	if key(id) != w.key || id.Size != w.hdr.Identity.Size {
		return fmt.Errorf("%w: file is not the one the record was started for", ErrMismatch)
	}
	if len(w.pending) != 0 || w.full != chunkCount(w.hdr.Blocks) {
		return ErrIncomplete
	}
	if w.expect != nil && *w.expect != id {
		return fmt.Errorf("%w: file changed while it was read", ErrMismatch)
	}
	w.hdr.Identity = id
	if id.Device {
		fp, err := fingerprint(f, id.Size)
		if err != nil {
			return err
		}
		w.hdr.Fingerprint = fp
	}
	if !w.hdr.Lazy {
		d := recordDigest(&w.hdr, &w.sum)
		if _, err := w.f.WriteAt(encodeTrailer(w.hdr.nonce[:], d), trailerOffset(w.hdr.Blocks)); err != nil {
			return fmt.Errorf("cache: %w", err)
		}
	}
	if _, err := w.f.WriteAt(w.hdr.encode(), 0); err != nil {
		return fmt.Errorf("cache: %w", err)
	}
	return nil
}
