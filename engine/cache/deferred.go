package cache

import (
	"sync"

	"github.com/pdiffagent/pdiffagent/sysio"
)

// MaxDeferred bounds the records a Deferred holds uncommitted, and with
// them the descriptors it keeps open: the next Add flushes and commits
// them.
const MaxDeferred = 256

// Deferred collects the records of files whose data is not yet on stable
// storage (a tree's files, written with engine.Options.DeferSync, made
// durable together at the tree's end), so that no record is visible
// before the data it trusts is durable. Each record joins a Group, which
// is committed only once the caller has made every file added so far
// durable (Commit), or, once MaxDeferred are pending, after the flush
// function given to Defer has (a syncfs of the target: Add). A crash
// before that leaves no record, only the temporary files eviction
// removes. A Deferred is safe for concurrent use.
type Deferred struct {
	store *Store
	flush func() error // makes every file added so far durable; nil: nothing to do (a side that only reads)
	mu    sync.Mutex
	g     *Group
	owned []*sysio.File
	err   error // of a commit made by Add
}

// Defer starts collecting records; flush makes the files added durable
// (nil when they need nothing: records of files only read).
func (s *Store) Defer(flush func() error) *Deferred {
	return &Deferred{store: s, flush: flush, g: s.Group()}
}

// Add takes w, the complete record of f, which the sync verified and
// wrote for the last time, and f, a descriptor of its own (sysio.File.Dup)
// that the Deferred closes.
func (d *Deferred) Add(w *Writer, f *sysio.File) {
	d.mu.Lock()
	d.g.Add(w, f)
	d.owned = append(d.owned, f)
	if len(d.g.ws) < MaxDeferred {
		d.mu.Unlock()
		return
	}
	g, owned := d.swap()
	d.mu.Unlock()
	err := d.commit(g, owned, true)
	if err != nil {
		d.mu.Lock()
		d.err = err
		d.mu.Unlock()
	}
}

// Pending reports how many records wait for Commit.
func (d *Deferred) Pending() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.g.ws)
}

// Commit commits the records added so far: the caller has made their
// files durable (flush is not called). It returns the first error of
// this or an earlier commit; a record that is not made is no error of
// the sync, only a file read again next time.
func (d *Deferred) Commit() error {
	d.mu.Lock()
	g, owned := d.swap()
	err := d.err
	d.mu.Unlock()
	if cerr := d.commit(g, owned, false); err == nil {
		err = cerr
	}
	return err
}

// Abort drops the records added and not committed.
func (d *Deferred) Abort() {
	d.mu.Lock()
	g, owned := d.swap()
	d.mu.Unlock()
	for _, w := range g.ws {
		w.Abort()
	}
	closeAll(owned)
}

func (d *Deferred) swap() (*Group, []*sysio.File) {
	g, owned := d.g, d.owned
	d.g, d.owned = d.store.Group(), nil
	return g, owned
}

func (d *Deferred) commit(g *Group, owned []*sysio.File, flush bool) error {
	defer closeAll(owned)
	if flush && d.flush != nil && len(g.ws) > 0 {
		if err := d.flush(); err != nil {
			for _, w := range g.ws {
				w.Abort()
			}
			return err
		}
	}
	return g.Commit()
}

func closeAll(fs []*sysio.File) {
	for _, f := range fs {
		f.Close()
	}
}
