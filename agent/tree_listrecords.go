package agent

import (
	"io/fs"
	"os"

	"github.com/pdiffagent/pdiffagent/engine/cache"
	"github.com/pdiffagent/pdiffagent/engine/tree"
	"github.com/pdiffagent/pdiffagent/sysio"
	"github.com/pdiffagent/pdiffagent/wire"
)

// listRecords puts, in a listing to a client with wire.CapTreeRecords,
// the digest of each regular file's current block-hash record
// (TreeEntry.Record), so that the client counts a quick-check skip as
// verified where its own copy's current record has the same digest
// (engine/tree, records.go). "Current" is the cache's trust rule
// (cache.Store.CurrentDigest): the record was made for exactly the
// identity the listing's own lstat of the file shows (device, inode,
// size, mtime, ctime, filesystem type), so the digest vouches for the
// size and mtime the entry carries; a write since the record, even one
// that restored size and mtime, moved ctime, and the file goes without.
//
// Lookups cost a failed open of the record's path, or a header and a
// trailer read, per file looked up: only regular files large enough to
// keep records in a tree (tree.Recorded), and only when the client can
// use them (it asked, wire.TreeListRecords: it keeps a cache and makes
// the quick check, tree.VerifiesSkips) and the session allows them (the
// server keeps a cache, no --no-cache, no dry run). The directory's
// filesystem is taken once per listing, on its first such file.
type listRecords struct {
	c         *cache.Store // nil: no lookups
	blockSize int
	method    uint8
	dir       *os.Root // the listed directory is pre beneath it
	pre       string
	fsys      *sysio.Filesystem
	fsErr     bool
}

func (t *treeServer) listRecords(dir *os.Root, pre string, asked bool) *listRecords {
	c := t.s.cfg.Cache
	if !asked || c == nil || !t.p.Caps.Has(wire.CapTreeRecords) || t.p.NoCache || t.p.DryRun {
		return &listRecords{}
	}
	return &listRecords{c: c, blockSize: t.p.BlockSize, method: t.p.RecordMethod(), dir: dir, pre: pre}
}

// digest sets e's Record when fi, the lstat e was made from, shows a
// regular file with a current record.
func (l *listRecords) digest(e *wire.TreeEntry, fi fs.FileInfo) {
	if l.c == nil || e.Kind != uint8(tree.KindFile) || !tree.Recorded(e.Size, l.blockSize) {
		return
	}
	fsys := l.filesystem()
	if fsys == nil {
		return
	}
	id, ok := sysio.StatIdentity(fi, *fsys)
	if !ok || id.Size != e.Size || id.Mtime != e.ModTime {
		return
	}
	if d, ok := l.c.CurrentDigest(id, l.blockSize, l.method); ok {
		e.Record = d
	}
}

// filesystem is the listed directory's (nil if it cannot be told).
func (l *listRecords) filesystem() *sysio.Filesystem {
	if l.fsys != nil || l.fsErr {
		return l.fsys
	}
	f, err := l.dir.Open(l.pre)
	if err == nil {
		var fsys sysio.Filesystem
		if fsys, err = sysio.DirFilesystem(f); err == nil {
			l.fsys = &fsys
		}
		f.Close()
	}
	l.fsErr = err != nil
	return l.fsys
}
