package tree

import (
	"errors"
	"fmt"
	"io/fs"
)

// The walk. One goroutine (the caller's) walks the source and the target
// together, depth first, one directory at a time: it reads both listings,
// sorted by name, and merges them. A name only in the target is deleted
// (with Delete); a name in the source is planned by its kind: directories
// are entered at once, files go to the scheduler (the walker waits there
// when every worker is busy, which bounds the files in flight), links and
// devices are made on the spot. Memory is the listings of the
// directories on the current path and the files in flight: never the
// whole tree, and of each listing at most the sort threshold's names
// (names.go: a larger directory is sorted on disk and merged as it is
// read).

// walkDir merges the source directory src with the target directory dst
// (which may not exist in a dry run); relDir is the prefix of the entries'
// relative paths ("" or "a/b/"). Both listings stream (Listing): a
// listing that fails part way stops the directory there (reported), so
// that the rest of a source cut short is never taken for entries to
// delete.
func (s *syncer) walkDir(d *dirNode, src, dst, relDir string) error {
	sl, err := s.src.List(src)
	if err != nil {
		s.fail(d.rel, err)
		return nil
	}
	defer sl.Close()
	dl, err := s.tgt.List(dst)
	if err != nil {
		s.fail(d.rel, err)
		return nil
	}
	defer dl.Close()
	sn, dn := peek(sl), peek(dl)
	for sn.ok || dn.ok {
		if err := s.ctx.Err(); err != nil {
			return err
		}
		if (!sn.ok && sl.Err() != nil) || (!dn.ok && dl.Err() != nil) {
			break // failed part way: what is left of either side is unknown
		}
		switch {
		case !dn.ok || (sn.ok && sn.d.Name < dn.d.Name):
			err = s.entry(d, sn.d, src, dst, relDir, Dirent{})
			sn.next()
		case !sn.ok || dn.d.Name < sn.d.Name:
			s.extra(s.tgt.Join(dst, dn.d.Name), relDir+dn.d.Name, dn.d.Entry)
			dn.next()
		default:
			err = s.entry(d, sn.d, src, dst, relDir, dn.d)
			sn.next()
			dn.next()
		}
		if err != nil {
			return err
		}
	}
	if err := errors.Join(sl.Err(), dl.Err()); err != nil {
		s.fail(d.rel, err)
	}
	return nil
}

// peeked is a listing with its next entry read ahead: ok is false once
// it has ended, or failed (its Err).
type peeked struct {
	l  Listing
	d  Dirent
	ok bool
}

func peek(l Listing) *peeked {
	p := &peeked{l: l}
	p.next()
	return p
}

func (p *peeked) next() { p.d, p.ok = p.l.Next() }

// extra handles a target entry the source lacks: deleted with Delete,
// unless excluded (and not DeleteExcluded).
func (s *syncer) extra(path, rel string, e Entry) {
	if !s.opt.Delete {
		return
	}
	if s.opt.Filter != nil && !s.opt.DeleteExcluded {
		if s.opt.Filter.Excluded(rel, e.Kind == KindDir) {
			return
		}
	}
	if err := s.remove(path, rel); err != nil {
		s.fail(rel, err)
	}
}

// remove deletes the target entry path (a directory with its contents;
// a symlink is removed, never followed), or in a dry run only reports it.
func (s *syncer) remove(path, rel string) error {
	if s.opt.Deleted != nil {
		s.opt.Deleted(rel)
	}
	s.count(func(st *Stats) { st.Deleted++ })
	if s.dryRun {
		return nil
	}
	return s.tgt.Remove(path)
}

// entry plans the source entry sd of the directory src; dd is the
// target directory's entry of that name (Kind 0: none).
func (s *syncer) entry(d *dirNode, sd Dirent, src, dst, relDir string, dd Dirent) error {
	sp, dp, rel := s.src.Join(src, sd.Name), s.tgt.Join(dst, sd.Name), relDir+sd.Name
	se := sd.Entry
	var err error
	if s.opt.Filter != nil && s.opt.Filter.Excluded(rel, se.Kind == KindDir) {
		s.count(func(st *Stats) { st.Excluded++ })
		return nil
	}
	de := dd.Entry
	switch se.Kind {
	case KindDir:
		return s.dir(d, se, de, sp, dp, rel)
	case KindFile:
		return s.file(d, se, de, sp, dp, rel)
	case KindSymlink:
		err = s.symlink(sd, dd, dp, rel)
	case KindDevice:
		if !s.opt.AllowDevices {
			s.count(func(st *Stats) { st.Specials++ })
			s.warn(fmt.Sprintf("%s: skipping device (--allow-devices creates it)", rel))
			return nil
		}
		err = s.device(se, de, dp, rel)
	default:
		s.count(func(st *Stats) { st.Specials++ })
		s.warn(fmt.Sprintf("%s: skipping %s", rel, kindName(se.Mode)))
		return nil
	}
	if err != nil {
		s.fail(rel, err)
	}
	return nil
}

// kindName names a special file's kind.
func kindName(m fs.FileMode) string {
	switch {
	case m&fs.ModeNamedPipe != 0:
		return "FIFO"
	case m&fs.ModeSocket != 0:
		return "socket"
	}
	return "special file"
}

// clear removes the target entry de at dp to make room for a source
// entry of another kind (a non-empty directory only with Delete).
func (s *syncer) clear(de Entry, dp, rel string) error {
	switch {
	case de.Kind == 0:
		return nil
	case de.Kind == KindDir && !s.opt.Delete:
		if s.dryRun {
			return nil
		}
		if err := s.tgt.Rmdir(dp); err != nil {
			return fmt.Errorf("the target has a directory here; --delete replaces it: %w", err)
		}
		return nil
	}
	return s.remove(dp, rel)
}

// dir enters a source directory: the target one is made (owner-writable
// until its contents are done) and walked.
func (s *syncer) dir(parent *dirNode, se, de Entry, sp, dp, rel string) error {
	s.count(func(st *Stats) { st.Dirs++ })
	free := de.Kind != KindDir
	if free {
		if err := s.clear(de, dp, rel); err != nil {
			s.fail(rel, err)
			return nil
		}
	}
	var err error
	if !s.dryRun {
		switch {
		case free:
			err = s.tgt.Mkdir(dp)
		case de.Mode.Perm()&0o700 != 0o700: // finishDir sets the source's
			err = s.tgt.Meta(dp, Entry{Mode: de.Mode | 0o700}, MetaMode)
		}
		if err != nil {
			s.fail(rel, err)
			return nil
		}
	}
	d := s.newDir(parent, rel, dp, se)
	err = s.walkDir(d, sp, dp, rel+"/")
	d.release()
	return err
}
