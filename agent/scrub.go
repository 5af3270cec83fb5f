package agent

import (
	"context"
	"errors"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/pdiffagent/pdiffagent/engine"
	"github.com/pdiffagent/pdiffagent/engine/cache"
	"github.com/pdiffagent/pdiffagent/sysio"
	"github.com/pdiffagent/pdiffagent/wire"
)

// maxScrubListed is how many of a file's differing blocks its log line
// names (it counts them all).
const maxScrubListed = 8

// scrubber is the server's background scrub (ServerConfig.VerifyInterval):
// every interval it re-reads the files beneath the root that have a
// block-hash record, one at a time, and logs the blocks that no longer
// match their record (engine.Scrub). It finds them through the cache's
// path index (engine/cache, "Path index"), which each session that ends
// with a record updates (notePath), and reaches them only through the
// jail, as a session would: an entry is a hint, never a path to follow.
//
// It must not slow what the server serves: it reads one file at a time,
// on a thread of its own at the lowest CPU and I/O priority
// (sysio.LowerThreadPriority), within the server's --io-limit (the same
// Rate as the sessions' hashing, so that together they stay under it), and
// with O_DIRECT where the filesystem allows it (sysio.DirectOn: the pages
// of a replica larger than memory do not evict the page cache, and the
// scrub reads what is on the disk). It takes no transfer lock, so it never
// makes a session wait or fail busy: a file whose identity moves while it
// is scrubbed (a session wrote it) is skipped until the next pass. It stops
// at the next block when the server closes.
//
// A file whose blocks differ has its record invalidated once logged: a
// record whose identity still matches (bit rot under an unchanged inode)
// would otherwise let the next sync trust the bad blocks instead of
// repairing them.
type scrubber struct {
	root    string                    // absolute; the index holds root-joined paths
	now     chan chan scrubStats      // scrubOnce: a pass now, its stats sent back
	log     *logLimiter               // paces the per-file lines
	onPass  func(scrubStats)          // tests: called after every pass
	onFile  func(rel string)          // tests: called before a file is compared
	onEntry func(rel string, e error) // tests: what became of each entry beneath the root
}

// scrubStats counts what one pass did.
type scrubStats struct {
	Files     int   // files re-read and compared whole
	Differ    int   // of which some blocks no longer match their record
	Forgotten int   // entries dropped: file gone, replaced, without a record, or out of the jail's reach
	Skipped   int   // files that changed while read, or could not be read (tried again next pass)
	BytesRead int64 // read from the files
}

func newScrubber(root string) *scrubber {
	abs, err := filepath.Abs(root)
	if err != nil {
		abs = root
	}
	return &scrubber{root: filepath.Clean(abs), now: make(chan chan scrubStats), log: newLogLimiter()}
}

// notePath puts the file of a session that ended well in the cache's path
// index, if it has a record (best effort: a file left out is only left out
// of scrubs until its next session).
func (s *Server) notePath(t *target) {
	var f *sysio.File
	switch {
	case s.cfg.Cache == nil:
		return
	case t.tgt != nil:
		f = t.tgt.File
	case t.src != nil:
		f = t.src.File
	}
	if f != nil {
		s.cfg.Cache.NotePath(f, filepath.Join(s.scrub.root, t.rel))
	}
}

// scrubLoop runs a pass every VerifyInterval (counted from the end of the
// last pass, so that passes never overlap) and whenever scrubOnce asks,
// until ctx ends.
func (s *Server) scrubLoop(ctx context.Context) {
	defer s.wg.Done()
	runtime.LockOSThread() // never unlocked: the lowered thread ends with this goroutine
	if err := sysio.LowerThreadPriority(); err != nil && !errors.Is(err, sysio.ErrNotSupported) {
		s.log.Debug("scrub: priority not lowered", "err", err)
	}
	t := time.NewTimer(s.cfg.VerifyInterval)
	defer t.Stop()
	for {
		var reply chan scrubStats
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case reply = <-s.scrub.now:
		}
		st := s.scrubPass(ctx)
		if ctx.Err() == nil {
			s.log.Info("scrub pass done", "files", st.Files, "differ", st.Differ, "forgotten", st.Forgotten,
				"skipped", st.Skipped, "bytes_read", st.BytesRead)
		}
		if s.scrub.onPass != nil {
			s.scrub.onPass(st)
		}
		if reply != nil {
			reply <- st
		}
		if !t.Stop() {
			select {
			case <-t.C:
			default:
			}
		}
		t.Reset(s.cfg.VerifyInterval)
	}
}

// scrubOnce runs a pass now and returns what it did (tests; the loop must
// be running).
func (s *Server) scrubOnce(ctx context.Context) (scrubStats, error) {
	reply := make(chan scrubStats, 1)
	select {
	case s.scrub.now <- reply:
	case <-ctx.Done():
		return scrubStats{}, ctx.Err()
	}
	select {
	case st := <-reply:
		return st, nil
	case <-ctx.Done():
		return scrubStats{}, ctx.Err()
	}
}

// scrubPass walks the path index and scrubs each file beneath the root.
func (s *Server) scrubPass(ctx context.Context) (st scrubStats) {
	prefix := strings.TrimSuffix(s.scrub.root, "/") + "/"
	err := s.cfg.Cache.Paths(func(e cache.PathEntry) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		rel, ok := strings.CutPrefix(e.Path, prefix)
		if !ok {
			return nil // another root's file (or a client's): not this server's to open
		}
		err := s.scrubFile(ctx, e, rel, &st)
		if s.scrub.onEntry != nil {
			s.scrub.onEntry(rel, err)
		}
		return nil
	})
	if err != nil && ctx.Err() == nil {
		s.log.Warn("scrub: cannot walk the cache's path index", "err", err)
	}
	return st
}

// Outcomes of scrubFile other than a comparison made.
var (
	errScrubForgotten = errors.New("entry forgotten")
	errScrubSkipped   = errors.New("file skipped")
)

// scrubFile scrubs the file of e, rel beneath the root, and counts it in
// st. It returns nil when the file was compared, else why not.
func (s *Server) scrubFile(ctx context.Context, e cache.PathEntry, rel string, st *scrubStats) error {
	store := s.cfg.Cache
	forget := func() error {
		store.ForgetPath(e)
		st.Forgotten++
		return errScrubForgotten
	}
	skip := func(err error) error {
		st.Skipped++
		s.scrubLog("scrub: file skipped", "path", rel, "err", err)
		return errScrubSkipped
	}
	rel, err := cleanRelPath(rel)
	if err != nil {
		return forget() // no client could name it
	}
	of, _, err := s.jail.open(rel, openRead)
	var ce *codeError
	if errors.As(err, &ce) && (ce.code == wire.CodeNotFound || ce.code == wire.CodeDenied) {
		return forget() // gone, or no longer a file the server would serve (a symbolic link…)
	}
	if err != nil {
		return skip(err)
	}
	f, err := sysio.FromOS(of, sysio.Options{Direct: sysio.DirectOn})
	if err != nil {
		of.Close()
		return skip(err)
	}
	defer f.Close()
	id, err := f.Identity()
	if err != nil {
		return skip(err)
	}
	if !e.Names(id) {
		return forget() // the name is another file's now
	}
	if s.scrub.onFile != nil {
		s.scrub.onFile(rel)
	}
	res, err := engine.Scrub(ctx, f, store, engine.Options{ReadLimit: s.cfg.ReadLimit})
	switch {
	case errors.Is(err, engine.ErrNoRecord):
		return forget()
	case ctx.Err() != nil:
		return ctx.Err()
	case err != nil:
		return skip(err)
	}
	if id2, err := f.Identity(); err != nil || id2 != id {
		return skip(errors.New("changed while it was read"))
	}
	st.Files++
	st.BytesRead += res.BytesRead
	if res.Differ == 0 {
		return nil
	}
	st.Differ++
	s.scrubLog("scrub: blocks differ from the record", "path", rel, "differ", res.Differ, "blocks", res.Blocks,
		"block_size", res.BlockSize, "first", res.Bad[:min(len(res.Bad), maxScrubListed)], "identity_changed", !res.Current)
	if err := store.Invalidate(f); err != nil {
		s.scrubLog("scrub: record not invalidated", "path", rel, "err", err)
	}
	return nil
}

// scrubLog logs a WARN line of the scrub, paced: a rotting disk must not
// flood the log.
func (s *Server) scrubLog(msg string, args ...any) {
	ok, suppressed := s.scrub.log.allow()
	if !ok {
		return
	}
	if suppressed > 0 {
		args = append(args, "suppressed", suppressed)
	}
	s.log.Warn(msg, args...)
}
