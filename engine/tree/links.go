package tree

import (
	"errors"
	"fmt"
	"io/fs"
	"sync"
)

// Hard links (Options.HardLinks). The first name of a multiply-linked
// source file (by device and inode) is synced as a file; every later name
// becomes a hard link to that target file, made once the first is done
// (at once if it is): a name waiting for it keeps its directory open (a
// dirNode reference), so the directory's mtime is set after the link.
// The groups of all multiply-linked files seen are kept until the end, as
// rsync -H keeps them: memory grows with the number of such files, not
// with the tree.

type fileID struct{ dev, ino uint64 }

type linkGroup struct {
	first   string // the target path of the first name
	settled bool   // the first name is done
	ok      bool   // and was synced
	waiting []pendingLink
}

type pendingLink struct {
	dst, rel string
	dir      *dirNode
}

type links struct {
	mu     sync.Mutex
	groups map[fileID]*linkGroup
}

// see registers a name of a multiply-linked file. For its first name it
// returns the group, to be settled by done; for a later one follow is
// true, and the link is made now or when the first name is done.
func (l *links) see(e Entry, dst, rel string, d *dirNode) (g *linkGroup, follow bool) {
	id := fileID{e.Dev, e.Ino}
	l.mu.Lock()
	g, ok := l.groups[id]
	if !ok {
		g = &linkGroup{first: dst}
		l.groups[id] = g
		l.mu.Unlock()
		return g, false
	}
	if !g.settled {
		d.acquire()
		g.waiting = append(g.waiting, pendingLink{dst, rel, d})
		l.mu.Unlock()
		return g, true
	}
	first, ok := g.first, g.ok
	l.mu.Unlock()
	d.s.link(first, dst, rel, ok)
	return g, true
}

// done settles g once its first name is synced (ok) or failed, and makes
// the links that waited for it.
func (l *links) done(s *syncer, g *linkGroup, ok bool) {
	l.mu.Lock()
	g.settled, g.ok = true, ok
	waiting := g.waiting
	g.waiting = nil
	l.mu.Unlock()
	for _, w := range waiting {
		s.link(g.first, w.dst, w.rel, ok)
		w.dir.release()
	}
}

// finish drops the groups (every first name is settled by now).
func (l *links) finish(s *syncer) {
	l.mu.Lock()
	l.groups = nil
	l.mu.Unlock()
}

// link makes dst a hard link to first, unless it is one already.
func (s *syncer) link(first, dst, rel string, ok bool) {
	s.count(func(st *Stats) { st.HardLinks++ })
	if !ok {
		if s.ctx.Err() == nil { // a cancelled sync reports the cancellation
			s.fail(rel, errors.New("not linked: its other name failed"))
		}
		return
	}
	if s.dryRun {
		return
	}
	fi, err := s.tgt.Lstat(dst)
	if err == nil {
		if fj, err := s.tgt.Lstat(first); err == nil && fi.Ino != 0 && fi.Dev == fj.Dev && fi.Ino == fj.Ino {
			return
		}
		if err := s.clear(fi.Entry, dst, rel); err != nil {
			s.fail(rel, err)
			return
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		s.fail(rel, err)
		return
	}
	if err := s.tgt.Link(first, dst); err != nil {
		s.fail(rel, fmt.Errorf("hard link: %w", err))
	}
}
