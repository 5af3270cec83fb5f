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

// sameRecords reports whether a file the quick check skips (se and de,
// the source's and the target's entries, equal in size and mtime) is also
// proven equal: both copies have current records with the same record
// digest (engine, "Equal by records"), for the session's block size and
// tier-2 hash. Such a skip is counted as verified, any other as skipped.
//
// "Current" is the cache's trust rule (cache.Store.CurrentDigest): the
// record was made for exactly the file's identity now (device, inode,
// size, mtime, ctime and filesystem type all equal), is complete (its
// digest trailer valid) and vouches for the very size and mtime the quick
// check compared. A write behind pdiffagent's back moves ctime even when
// it restores size and mtime, so a stale record never counts. A local
// side (either side of a local tree, a push's source, a pull's target) is
// asked here, only for files the quick check skips; a server's digest
// comes in its listing (Entry.Record, wire.CapTreeRecords), taken by the
// same rule from the lstat the listing made; a server that sent none (an
// older one, no cache, --no-cache) leaves the skip unverified. Either
// side's digest holds as of its own look (the listing's lstat, or the
// lookup here), as the quick check's size and mtime do: a write after it
// is this run's to miss, and the next run's to see (it moved ctime).
func (s *syncer) sameRecords(sp, dp string, se, de Entry) bool {
	if !VerifiesSkips(s.opt) || !Recorded(se.Size, s.opt.Session.BlockSize) {
		return false
	}
	_, srcLocal := s.src.(*localTarget)
	_, dstLocal := s.tgt.(*localTarget) // a pull's too: its fetch only brings the data
	// A server's digest first: without one, the local lookup is not made.
	if (!srcLocal && se.Record == nil) || (!dstLocal && de.Record == nil) {
		return false
	}
	a, okA := s.digestOf(srcLocal, sp, se)
	if !okA {
		return false
	}
	b, okB := s.digestOf(dstLocal, dp, de)
	return okB && a == b
}

// VerifiesSkips reports whether a sync with opt may count a quick-check
// skip as verified: it keeps a block-hash cache, trusts records (no
// NoCache), makes the quick check (no ChecksumAll) and is no dry run. A
// network tree asks the server for its records' digests only then
// (wire.TreeListRecords): otherwise they could not count.
func VerifiesSkips(opt Options) bool {
	return opt.Engine.Cache != nil && !opt.Session.NoCache && !opt.ChecksumAll && !opt.Session.DryRun
}

// digestOf is the current record digest of a side's file path, whose
// entry (as that side listed it) is e: a local file's looked up in the
// cache now, a server's from its listing.
func (s *syncer) digestOf(local bool, path string, e Entry) (RecordDigest, bool) {
	if local {
		return currentDigest(s.opt.Engine.Cache, path, e, s.opt.Session)
	}
	if e.Record == nil {
		return RecordDigest{}, false
	}
	return *e.Record, true
}

// currentDigest is the digest of the local file path's current record,
// for exactly e's size and mtime (the quick check's). The identity is
// taken without opening the file (sysio.PathIdentity: an lstat and a
// statfs), as a server's listing takes it from its lstat.
func currentDigest(c *cache.Store, path string, e Entry, sess engine.Session) (RecordDigest, bool) {
	id, ok := sysio.PathIdentity(path)
	if !ok || id.Size != e.Size || id.Mtime != e.ModTime {
		return RecordDigest{}, false
	}
	return c.CurrentDigest(id, sess.BlockSize, sess.RecordMethod())
}
