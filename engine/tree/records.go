package tree

import (
	"errors"

	"github.com/pdiffagent/pdiffagent/engine"
	"github.com/pdiffagent/pdiffagent/engine/cache"
	"github.com/pdiffagent/pdiffagent/sysio"
)

// deferRecords sets up the files' block-hash records (Options.Engine.Cache;
// doc.go, "Durability"): they wait in a cache.Deferred, committed only
// once the tree is durable, never before. A local target's records trust
// data this sync may have written: they are committed after Flush (which
// fsyncs every recorded file, written or not: an interrupted run may have
// left it unsynced), or mid-tree after a syncfs once cache.MaxDeferred
// wait. The
// records of a side that only reads (a push's source) wait for nothing
// but the end. Without syncfs a local target keeps no records.
func (s *syncer) deferRecords() {
	c := s.opt.Engine.Cache
	if c == nil || s.dryRun {
		return
	}
	var flush func() error
	if lt, ok := s.tgt.(*localTarget); ok {
		if lt.root == "" || !sysio.CanSyncFS() {
			return
		}
		root := lt.root
		flush = func() error { return syncFS(root) }
	}
	s.rec = c.Defer(flush)
}

// commitRecords ends the records: committed after a flush that succeeded
// (err, a failed path does not count), dropped otherwise. A record that
// cannot be made is no error of the sync: that file is read again next
// time.
func (s *syncer) commitRecords(err error) {
	if s.rec == nil {
		return
	}
	if err == nil || errors.Is(err, ErrPartial) {
		s.rec.Commit()
		return
	}
	s.rec.Abort()
}

// minRecordedBlocks is the size, in blocks, from which a tree's file keeps
// a block-hash record. A record saves reading and hashing a file the next
// time it is compared, but a file written while its record is valid pays
// a durable invalidation first (an fsync of the cache directory, about
// 10 ms here: as much as hashing 16 MiB), and a small file unchanged is
// skipped by the quick check anyway, so small files keep none.
const minRecordedBlocks = 8

// Recorded reports whether a tree's file of size bytes uses the block-hash
// cache (both ends of a network tree apply it, each to its own copy).
func Recorded(size int64, blockSize int) bool {
	return size >= int64(minRecordedBlocks)*int64(blockSize)
}

// sameRecords reports whether a file the quick check skips is also proven
// equal: in a local tree, both copies have records that are current (their
// identities unchanged since they were made) for the session's block size
// and tier-2 hash, with the same record digest (engine, "Equal by
// records"). Such a skip is counted as verified. A network tree's skips
// stay unverified: the server's records are not in its listings.
func (s *syncer) sameRecords(sp, dp string, size int64) bool {
	c, sess := s.opt.Engine.Cache, s.opt.Session
	if c == nil || s.dryRun || sess.NoCache || !Recorded(size, sess.BlockSize) {
		return false
	}
	if _, ok := s.tgt.(*localTarget); !ok || s.tgt.(*localTarget).fetch != nil {
		return false
	}
	if _, ok := s.src.(*localTarget); !ok {
		return false
	}
	a, okA := currentDigest(c, sp, sess)
	b, okB := currentDigest(c, dp, sess)
	return okA && okB && a == b
}

func currentDigest(c *cache.Store, path string, sess engine.Session) (d [cache.DigestSize]byte, ok bool) {
	f, err := sysio.Open(path, sysio.ReadOnly, sysio.Options{Direct: sysio.DirectOff})
	if err != nil {
		return d, false
	}
	defer f.Close()
	rec, current, err := c.Inspect(f)
	if err != nil || rec == nil {
		return d, false
	}
	defer rec.Close()
	ok = current && rec.HasDigest && rec.BlockSize == sess.BlockSize && rec.Method == uint8(sess.Strong)
	return rec.Digest, ok
}
