package tree

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/pdiffagent/pdiffagent/engine"
	"github.com/pdiffagent/pdiffagent/engine/cache"
	"github.com/pdiffagent/pdiffagent/wire"
)

// ErrPartial means that some paths of the tree could not be synced; the
// rest was (Stats.Failed lists them).
var ErrPartial = errors.New("tree: some paths were not synced")

// Resolve applies rsync's trailing-slash rule to a tree sync's arguments:
// a source named with a trailing slash ("src/") is synced as its contents
// into dst; without one ("src"), as the directory itself, into dst/src.
// It returns the directory whose contents are synced, the target directory
// that receives them, and the prefix (the source's base name and a slash,
// or "") that filter rules see in front of every path.
func Resolve(src, dst string) (srcDir, dstDir, prefix string) {
	if strings.HasSuffix(src, "/") || strings.HasSuffix(src, string(filepath.Separator)) {
		return src, dst, ""
	}
	base := filepath.Base(src)
	if base == "." || base == ".." || base == "/" {
		return src, dst, "" // "." names a directory's contents
	}
	return src, filepath.Join(dst, base), base + "/"
}

// Sync brings the directory dst up to date with the directory src, both
// local: after Resolve, src's contents into dst, which is created if
// missing (its parent must exist). prefix is Resolve's. A path that could
// not be synced is reported in Stats.Failed and through Options.Warn, the
// rest completes, and Sync returns ErrPartial; any other error (the
// context ended, the roots are unusable) stops the sync.
func Sync(ctx context.Context, src, dst, prefix string, opt Options) (Stats, error) {
	if err := notInside(src, dst); err != nil {
		return Stats{}, err
	}
	opt.Session.Caps = wire.AgentCaps // both sides are this agent, as in engine.SyncLocal
	return syncInto(ctx, LocalSource(), src, dst, prefix, opt, nil)
}

// Fetch brings the local file dp up to date with the Source's file sp,
// for SyncFrom (the agent's pull runs the engine with the server).
type Fetch func(ctx context.Context, sp, dp string, se, de Entry, p engine.Params, opt engine.Options, atomic bool) (engine.Stats, error)

// SyncFrom brings the local directory dst up to date with the directory
// src of the Source from, as Sync does (dst is made if missing, its parent
// must exist); each file is brought up to date by fetch.
func SyncFrom(ctx context.Context, from Source, src, dst, prefix string, opt Options, fetch Fetch) (Stats, error) {
	return syncInto(ctx, from, src, dst, prefix, opt, fetch)
}

// syncInto syncs into the local directory dst, made if missing.
func syncInto(ctx context.Context, from Source, src, dst, prefix string, opt Options, fetch Fetch) (Stats, error) {
	lt := &localTarget{fetch: fetch}
	dryRun := opt.Session.DryRun
	dstE, err := lstatFollow(dst)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if !dryRun {
			if err := lt.Mkdir(dst); err != nil {
				return Stats{}, err
			}
		}
	case err != nil:
		return Stats{}, err
	case dstE.Kind != KindDir:
		return Stats{}, fmt.Errorf("%s exists and is not a directory", dst)
	}
	lt.root = dst
	return SyncTo(ctx, from, src, lt, dst, prefix, opt)
}

// SyncTo brings the directory root of the Target t (which exists, unless
// in a dry run) up to date with the directory src of the Source from, as
// Sync does; it ends with t.Flush.
func SyncTo(ctx context.Context, from Source, src string, t Target, root, prefix string, opt Options) (Stats, error) {
	start := time.Now()
	s, rootDir, err := newSyncer(ctx, from, src, t, root, prefix, opt)
	if err != nil {
		return Stats{}, err
	}
	walkErr := s.walkDir(rootDir, src, root, prefix)
	rootDir.release()
	s.sched.wait()
	s.links.finish(s)
	err = walkErr
	if err == nil {
		err = ctx.Err()
	}
	if err == nil {
		err = t.Flush()
	}
	s.commitRecords(err)
	s.mu.Lock()
	st := s.st
	s.mu.Unlock()
	st.Seconds = time.Since(start).Seconds()
	st.DryRun = s.dryRun
	if err == nil && st.FailedCount > 0 {
		err = fmt.Errorf("%w: %d failed", ErrPartial, st.FailedCount)
	}
	return st, err
}

// newSyncer checks the source.
func newSyncer(ctx context.Context, from Source, src string, t Target, root, prefix string, opt Options) (*syncer, *dirNode, error) {
	sess, err := opt.Session.Normalize()
	if err != nil {
		return nil, nil, err
	}
	opt.Session = sess
	if opt.Progress == nil {
		opt.Progress = new(Progress)
	}
	s := &syncer{ctx: ctx, opt: opt, dryRun: sess.DryRun, sched: newScheduler(sess.Workers), tgt: t, src: from}
	s.deferRecords()
	s.links.groups = make(map[fileID]*linkGroup)
	srcE, err := from.Root(src)
	if err != nil {
		return nil, nil, err
	}
	if srcE.Kind != KindDir {
		return nil, nil, fmt.Errorf("%s is not a directory", src)
	}
	s.st.Dirs++
	return s, s.newDir(nil, rootRel(prefix), root, srcE), nil
}

// lstatFollow stats a root, following a symlink as the user named it.
func lstatFollow(path string) (Entry, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return Entry{}, err
	}
	return entryOf(fi), nil
}

// notInside refuses a target that is the source or lies inside it (the
// walk would copy its own output), comparing resolved absolute paths.
func notInside(src, dst string) error {
	rs, err := resolved(src)
	if err != nil {
		return err
	}
	rd, err := resolved(dst)
	if err != nil {
		return err
	}
	if rd == rs || strings.HasPrefix(rd, rs+string(filepath.Separator)) {
		return fmt.Errorf("the target %s is inside the source %s", dst, src)
	}
	return nil
}

// resolved is path made absolute with symlinks resolved; of a missing path
// its existing parent's, with the last name appended.
func resolved(path string) (string, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", err
	}
	if r, err := filepath.EvalSymlinks(abs); err == nil {
		return r, nil
	}
	dir, err := filepath.EvalSymlinks(filepath.Dir(abs))
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, filepath.Base(abs)), nil
}

// syncer is one tree sync.
type syncer struct {
	ctx    context.Context
	opt    Options
	dryRun bool
	sched  *scheduler
	links  links
	tgt    Target
	src    Source
	rec    *cache.Deferred    // the records of the files, committed once the tree is durable (records.go)
	search engine.SearchShare // the rolling search's streak, over all the files (sender side)
	recv   engine.RecvShare   // the receiver's streaks, over all the files

	mu sync.Mutex
	st Stats
}

// fail records a path that could not be synced.
func (s *syncer) fail(rel string, err error) {
	s.mu.Lock()
	s.st.FailedCount++
	if len(s.st.Failed) < MaxFailedListed {
		s.st.Failed = append(s.st.Failed, Failure{Path: rel, Error: err.Error()})
	}
	s.mu.Unlock()
	s.warn(fmt.Sprintf("%s: %v", rel, err))
}

func (s *syncer) warn(line string) {
	if s.opt.Warn != nil {
		s.opt.Warn(line)
	}
}

// count adds to the stats under the lock.
func (s *syncer) count(f func(st *Stats)) {
	s.mu.Lock()
	f(&s.st)
	s.mu.Unlock()
}

// rootRel names the root directory in messages: its base name, or ".".
func rootRel(prefix string) string {
	if prefix == "" {
		return "."
	}
	return strings.TrimSuffix(prefix, "/")
}
