package tree

import (
	"fmt"
	"os"
	"sync/atomic"
)

// dirNode is a target directory whose contents are still being synced. Its
// mode and mtime are set only once everything inside it is done (creating
// an entry moves a directory's mtime, and a read-only mode would refuse
// the entries): the walker holds a reference while it lists the
// directory, every file in flight in it holds one, and so does every
// subdirectory until it is finished. The last release applies the
// metadata and releases the parent. Only the directories on the walker's
// path and those with files in flight are alive, never the whole tree.
type dirNode struct {
	s      *syncer
	parent *dirNode
	rel    string // for messages
	dst    string
	src    Entry // the source directory's metadata
	refs   atomic.Int32
}

func (s *syncer) newDir(parent *dirNode, rel, dst string, src Entry) *dirNode {
	d := &dirNode{s: s, parent: parent, rel: rel, dst: dst, src: src}
	d.refs.Store(1) // the walker's
	if parent != nil {
		parent.acquire()
	}
	return d
}

func (d *dirNode) acquire() { d.refs.Add(1) }

func (d *dirNode) release() {
	if d.refs.Add(-1) != 0 {
		return
	}
	if err := d.s.finishDir(d); err != nil {
		d.s.fail(d.rel, err)
	}
	if d.parent != nil {
		d.parent.release()
	}
}

// finishDir gives a finished target directory the source's owner, mode
// and mtime, where they differ.
func (s *syncer) finishDir(d *dirNode) error {
	if s.dryRun {
		return nil
	}
	cur, err := s.tgt.Lstat(d.dst)
	if err != nil {
		return err
	}
	if cur.Kind != KindDir {
		return fmt.Errorf("%s is no longer a directory", d.dst)
	}
	return s.applyMeta(d.dst, cur.Entry, d.src, true)
}

// applyMeta gives the target entry path (now cur) the source's owner, mode
// and mtime (src), each only where it differs and the options ask for it.
// withMode is false for symlinks, whose mode cannot be set.
func (s *syncer) applyMeta(path string, cur, src Entry, withMode bool) error {
	o := s.opt.Session
	var what Meta
	if o.Owner && (cur.Uid != src.Uid || cur.Gid != src.Gid) {
		what |= MetaOwner
	}
	if withMode && !o.NoPerms && cur.Mode.Perm()|cur.Mode&specialBits != src.Mode.Perm()|src.Mode&specialBits {
		what |= MetaMode
	}
	if !o.NoTimes && cur.ModTime != src.ModTime {
		what |= MetaTime
	}
	if what == 0 {
		return nil
	}
	return s.tgt.Meta(path, src, what)
}

// specialBits are the mode bits besides the permissions that chmod sets.
const specialBits = os.ModeSetuid | os.ModeSetgid | os.ModeSticky
