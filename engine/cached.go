package engine

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/pdiffagent/pdiffagent/engine/cache"
	"github.com/pdiffagent/pdiffagent/sysio"
	"github.com/pdiffagent/pdiffagent/wire"
)

// checkpointEvery is how often a receiver's journal is checkpointed: the
// target is synced, then the journal (engine/cache, "Resume").
const checkpointEvery = 3 * time.Second

// knownHashes is the one hook the cache has into the hashing passes: the
// hashes of blocks [first, first+len(es)) of a side's own copy as a record
// or a journal has them, have[i] set for each block it knows. A block it
// does not know is read and hashed as without a cache. A record satisfies
// it for every block of the file; a sealed journal for those it logged.
type knownHashes interface {
	known(first int64, es []cache.Entry, have []bool) error
}

type recordHashes struct{ r *cache.Record }

func (k recordHashes) known(first int64, es []cache.Entry, have []bool) error {
	n := min(int64(len(es)), int64(k.r.Blocks)-first)
	if n <= 0 {
		return nil
	}
	if err := k.r.Read(uint64(first), es[:n]); err != nil {
		return err
	}
	for i := range n {
		have[i] = true
	}
	return nil
}

type journalHashes struct{ r *cache.Resume }

func (k journalHashes) known(first int64, es []cache.Entry, have []bool) error {
	return k.r.Read(uint64(first), es, have)
}

// fileCache is one side's use of its block-hash cache in one session:
// what it found (status, known) and what it writes (a record of the
// whole file, and on the receiver a journal). A nil *fileCache is a side
// without a cache.
type fileCache struct {
	store   *cache.Store
	f       *sysio.File
	status  cache.Status
	resumed bool
	basis   bool // the record used is the replaced file's (lookupCache)
	lazy    bool // a Hit's record lacks some tier-2 hashes: a reading side records the file again
	known   knownHashes
	hitID   sysio.Identity          // the identity a Hit's record was made with
	digest  *[cache.DigestSize]byte // a Hit's record digest, if it has one (equal.go)
	closers []func() error
	w       *cache.Writer
	later   *cache.Deferred // Options.Records: the record is committed with the tree's

	j      atomic.Pointer[cache.Journal] // set by the first write (beforeWrite)
	failed atomic.Bool                   // a write to the file failed: its journal must not be sealed
	stop   chan struct{}
	wg     sync.WaitGroup

	// The first write (beforeWrite) invalidates f's record and starts the
	// journal; a session that writes nothing keeps an unchanged file's
	// record (commit).
	p         Params
	journal   bool
	wrote     atomic.Bool
	writeOnce sync.Once
	writeErr  error
}

// lookup finds what the cache knows of f (unless the session says
// --no-cache): a record whose identity f still has, or else, when resume
// is set, the sealed journal of an interrupted sync with the same size.
// A non-nil basis is the file f was filled as a copy of (an atomic
// replacement; Target.basis): a record of basis, valid now, is f's.
func lookupCache(s *cache.Store, f, basis *sysio.File, p Params, resume bool) *fileCache {
	if s == nil || f == nil {
		return nil
	}
	c := &fileCache{store: s, f: f}
	if p.NoCache {
		return c
	}
	look := f
	if basis != nil {
		look, c.basis = basis, true
	}
	rec, st, err := s.Lookup(look, p.BlockSize, p.RecordMethod())
	if err != nil {
		return c
	}
	c.status = st
	if st == cache.Hit {
		c.known, c.hitID, c.lazy = recordHashes{rec}, rec.Identity, rec.Lazy
		if rec.HasDigest && !c.basis {
			c.digest = &rec.Digest
		}
		c.closers = append(c.closers, rec.Close)
		return c
	}
	if resume && st != cache.Off {
		if res, _ := s.OpenJournal(f, p.Size, p.BlockSize, p.RecordMethod()); res != nil && res.Blocks > 0 {
			c.known, c.resumed = journalHashes{res}, true
			c.closers = append(c.closers, res.Close)
		} else if res != nil {
			res.Close()
		}
	}
	return c
}

// deferTo makes the record be committed through d (Options.Records), once
// the caller has made f durable, rather than at once.
func (c *fileCache) deferTo(d *cache.Deferred) {
	if c != nil {
		c.later = d
	}
}

// startWriting is called by a receiver before it may write f: it starts
// the record of a whole-file sync (blocks are put as they are known);
// beforeWrite does the rest before the first write.
//
// A --no-cache session (p.NoCache) keeps no record and no journal: it
// would cost each side a tier-2 hash of every block it writes or sends
// (at 1000 pages of 8 KiB in 1 GiB, both ends 2.8 -> 3.8 CPU-s). Its
// first write still invalidates the record it makes stale.
func (c *fileCache) startWriting(p Params, journal bool) {
	if c == nil {
		return
	}
	c.p, c.journal = p, journal && !p.NoCache
	if !p.Partial() && !p.NoCache {
		c.w, _ = c.store.Create(c.f, p.Size, p.BlockSize, p.RecordMethod())
	}
}

// beforeWrite is called before every write to f (data, holes, size): the
// first call durably invalidates f's record and starts the journal; the
// others wait for it and return its error. Offered blocks put before then
// are in the record but not in the journal (a rerun reads them).
func (c *fileCache) beforeWrite() error {
	if c == nil {
		return nil
	}
	c.writeOnce.Do(func() {
		c.wrote.Store(true)
		if c.writeErr = c.store.Invalidate(c.f); c.writeErr != nil {
			return
		}
		var j *cache.Journal
		if c.journal {
			j, _ = c.store.StartJournal(c.f, c.p.Size, c.p.BlockSize, c.p.RecordMethod())
		}
		if j != nil {
			c.stop = make(chan struct{})
			c.wg.Add(1)
			go c.checkpoints(j)
			c.j.Store(j)
		}
	})
	return c.writeErr
}

// clean reports whether the session has not written f, whose record it
// used: f is as that record's session left it, synced.
func (c *fileCache) clean() bool {
	return c != nil && c.status == cache.Hit && !c.wrote.Load() && !c.basis
}

// unchanged reports whether f still has the identity of the record this
// session used and the session wrote nothing: that record stays, and no
// new one is made (no racy-window wait, no fsync).
func (c *fileCache) unchanged() bool {
	if !c.clean() || c.lazy { // a Lazy record is made again with the hashes it lacked
		return false
	}
	id, err := c.f.Identity()
	return err == nil && id == c.hitID
}

// startSourceRecord starts the record of a source read whole by this
// session (not on a hit: that record stays valid, unless it is Lazy: then
// the session, which reads and tier-2 hashes the blocks the record lacks a
// tier-2 hash for, records the file again with them). The identity is taken
// before the first read, once its racy window has passed; the record is
// committed only if the source still has it at the end.
func (c *fileCache) startSourceRecord(p Params) {
	if c == nil || (c.status == cache.Hit && !c.lazy) || p.Partial() || p.NoCache {
		return
	}
	id, err := cache.Settle(c.f)
	if err != nil {
		return
	}
	if c.w, _ = c.store.Create(c.f, p.Size, p.BlockSize, p.RecordMethod()); c.w != nil {
		c.w.Expect(id)
	}
}

// changed reports whether a file whose record was used has changed since
// (its identity moved): the session's hashes may then be wrong.
func (c *fileCache) changed() bool {
	if c == nil || c.status != cache.Hit {
		return false
	}
	id, err := c.f.Identity()
	return err != nil || id != c.hitID
}

func (c *fileCache) checkpoints(j *cache.Journal) {
	defer c.wg.Done()
	t := time.NewTicker(checkpointEvery)
	defer t.Stop()
	for {
		select {
		case <-c.stop:
			return
		case <-t.C:
			if j.Checkpoint(c.f.Sync) != nil {
				return
			}
		}
	}
}

// recording reports whether block hashes are to be put.
func (c *fileCache) recording() bool { return c != nil && (c.w != nil || c.journal) }

// put records blocks [first, first+len(es)) as they now are in f.
func (c *fileCache) put(first int64, es []cache.Entry) {
	if c.w != nil {
		c.w.Put(uint64(first), es) // an error (a block put twice) fails the record's commit
	}
	if j := c.j.Load(); j != nil {
		j.Add(uint64(first), es)
	}
}

// putRuns puts blocks given one by one in increasing order, a run of
// consecutive blocks at a time.
func (c *fileCache) putRuns(blocks []int64, es []cache.Entry) {
	for i := 0; i < len(blocks); {
		k := i + 1
		for k < len(blocks) && blocks[k] == blocks[k-1]+1 {
			k++
		}
		c.put(blocks[i], es[i:k])
		i = k
	}
}

func (c *fileCache) stopCheckpoints() {
	if c.stop != nil {
		close(c.stop)
		c.wg.Wait()
		c.stop = nil
	}
}

// commit ends a verified session: f is synced and written for the last
// time; its record is made (after the racy window) and its journal
// removed. A record that cannot be made is no error of the sync.
func (c *fileCache) commit() {
	if c == nil {
		return
	}
	c.stopCheckpoints()
	if c.w != nil {
		switch {
		case c.failed.Load() || c.unchanged():
			c.w.Abort()
		case c.later != nil:
			if f, err := c.f.Dup(); err == nil {
				c.later.Add(c.w, f)
			} else {
				c.w.Abort()
			}
		default:
			c.w.Commit(c.f)
		}
		c.w = nil
	}
	if j := c.j.Swap(nil); j != nil {
		j.Discard()
	}
	c.close()
}

// abort ends a failed session: no record; the journal is sealed with the
// target's identity, unless a write failed (then what the target holds is
// unknown and the rerun must read it).
func (c *fileCache) abort() {
	if c == nil {
		return
	}
	c.stopCheckpoints()
	if c.w != nil {
		c.w.Abort()
	}
	if j := c.j.Swap(nil); j != nil {
		if !c.failed.Load() {
			j.Seal(c.f)
		}
		j.Close()
	}
	c.close()
}

func (c *fileCache) close() {
	for _, f := range c.closers {
		f()
	}
	c.closers = nil
}

// report is the side's "cache:" word.
func (c *fileCache) report() string {
	switch {
	case c == nil:
		return cache.Off.String()
	case c.resumed:
		return "resume"
	}
	return c.status.String()
}

// lookupKnown returns what the cache knows of blocks [first, first+n);
// nil when it knows none of them (or its record failed a check: then the
// blocks are read).
func (c *fileCache) lookupKnown(first int64, n int) ([]cache.Entry, []bool) {
	if c == nil || c.known == nil {
		return nil, nil
	}
	es, have := make([]cache.Entry, n), make([]bool, n)
	if err := c.known.known(first, es, have); err != nil {
		return nil, nil
	}
	for _, h := range have {
		if h {
			return es, have
		}
	}
	return nil, nil
}

// writeFailed notes that a write to the file failed.
func (c *fileCache) writeFailed() {
	if c != nil {
		c.failed.Store(true)
	}
}

// cacheWords maps the words of Stats to wire.Report's codes.
var cacheWords = map[string]uint8{
	"off": wire.CacheOff, "miss": wire.CacheMiss, "stale": wire.CacheStale, "hit": wire.CacheHit, "resume": wire.CacheResume,
}

func newReport(word string, read int64) *wire.Report {
	return &wire.Report{Read: uint64(max(read, 0)), Cache: cacheWords[word]}
}

// peerReport is the other side's word and bytes read ("" and 0 without a
// Report).
func peerReport(r *wire.Report) (string, int64) {
	if r == nil {
		return "", 0
	}
	for w, c := range cacheWords {
		if c == r.Cache {
			return w, int64(r.Read)
		}
	}
	return "", int64(r.Read)
}

// recvReport receives the next message on stream 0, keeping a Report that
// comes before it in *rep.
func recvReport(st Stream, rep **wire.Report) (wire.Message, error) {
	for {
		m, err := recvMsg(st)
		if err != nil {
			return nil, err
		}
		r, ok := m.(*wire.Report)
		if !ok {
			return m, nil
		}
		if *rep != nil {
			return nil, protocolErrorf("a second Report")
		}
		*rep = r
	}
}

// report is the receiver's cache word and bytes read so far.
func (r *receiver) report() (string, int64) {
	if r.dst == nil {
		return r.cache.report(), 0
	}
	return r.cache.report(), r.dst.BytesRead() - r.read0
}
