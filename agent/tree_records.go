package agent

import (
	"github.com/pdiffagent/pdiffagent/sysio"
)

// deferRecords sets up the block-hash records of the tree's files, when
// the server keeps a cache: they wait in a cache.Deferred until the tree
// is durable. A push's records trust data written with DeferSync: they are
// committed after the client's TreeFlush (one syncfs) or mid-tree after
// a syncfs of their own once cache.MaxDeferred wait, and dropped if the
// session ends before. A pull's records (files only read) wait for
// nothing but the session's end. Without syncfs a push keeps no records.
func (t *treeServer) deferRecords() {
	c := t.s.cfg.Cache
	if c == nil || t.p.DryRun || t.tr == nil {
		return
	}
	var flush func() error
	if !t.pull {
		if !sysio.CanSyncFS() {
			return
		}
		flush = t.flush
	}
	t.rec = c.Defer(flush)
}

// commitRecords commits the records waiting: the tree was just flushed
// (a push) or the session ended (a pull). A record that cannot be made is
// no error: that file is read again next time.
func (t *treeServer) commitRecords() {
	if t.rec != nil {
		t.rec.Commit()
	}
}

// endRecords ends the session's records once its files have stopped: a
// pull that ended cleanly commits them; a push's that were not flushed
// are dropped.
func (t *treeServer) endRecords(err error) {
	if t.rec == nil {
		return
	}
	if t.pull && err == nil {
		t.rec.Commit()
		return
	}
	t.rec.Abort()
}
