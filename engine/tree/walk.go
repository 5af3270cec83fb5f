package tree

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"syscall"
)

// The walk. One goroutine (the caller's) walks the source and the target
// together, depth first, one directory at a time: it reads both listings,
// sorted by name, and merges them. A name only in the target is deleted
// (with Delete); a name in the source is planned by its kind: directories
// are entered at once, files go to the scheduler (the walker waits there
// when every worker is busy, which bounds the files in flight), links and
// devices are made on the spot. Memory is the listings of the
// directories on the current path and the files in flight: never the
// whole tree (though a single directory of a million names is held whole
// while it is merged, as rsync does).

// readNames lists dir's names, sorted; a missing dir has none.
func readNames(dir string) ([]string, error) {
	f, err := os.Open(dir)
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) { // a dry run's file to be replaced
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	names, err := f.Readdirnames(-1)
	sort.Strings(names)
	return names, err
}

// walkDir merges the source directory src with the target directory dst
// (which may not exist in a dry run); relDir is the prefix of the entries'
// relative paths ("" or "a/b/").
func (s *syncer) walkDir(d *dirNode, src, dst, relDir string) error {
	sn, err := readNames(src)
	if err != nil {
		s.fail(d.rel, err)
		return nil
	}
	dn, err := readNames(dst)
	if err != nil {
		s.fail(d.rel, err)
		return nil
	}
	i, j := 0, 0
	for i < len(sn) || j < len(dn) {
		if err := s.ctx.Err(); err != nil {
			return err
		}
		switch {
		case j == len(dn) || (i < len(sn) && sn[i] < dn[j]):
			err = s.entry(d, sn[i], src, dst, relDir, false)
			i++
		case i == len(sn) || dn[j] < sn[i]:
			s.extra(filepath.Join(dst, dn[j]), relDir+dn[j])
			j++
		default:
			err = s.entry(d, sn[i], src, dst, relDir, true)
			i, j = i+1, j+1
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// extra handles a target entry the source lacks: deleted with Delete,
// unless excluded (and not DeleteExcluded).
func (s *syncer) extra(path, rel string) {
	if !s.opt.Delete {
		return
	}
	if s.opt.Filter != nil && !s.opt.DeleteExcluded {
		e, err := lstat(path)
		if err != nil {
			s.fail(rel, err)
			return
		}
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
	s.dur.entryChanged(path)
	return os.RemoveAll(path)
}

// entry plans the source entry name of the directory src; inDst says the
// target directory lists it too.
func (s *syncer) entry(d *dirNode, name, src, dst, relDir string, inDst bool) error {
	sp, dp, rel := filepath.Join(src, name), filepath.Join(dst, name), relDir+name
	se, err := lstat(sp)
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) { // vanished since the listing: nothing to sync
			s.fail(rel, err)
		}
		return nil
	}
	if s.opt.Filter != nil && s.opt.Filter.Excluded(rel, se.Kind == KindDir) {
		s.count(func(st *Stats) { st.Excluded++ })
		return nil
	}
	var de Entry // Kind 0: missing
	if inDst {
		if de, err = lstat(dp); err != nil && !errors.Is(err, fs.ErrNotExist) {
			s.fail(rel, err)
			return nil
		}
	}
	switch se.Kind {
	case KindDir:
		return s.dir(d, se, de, sp, dp, rel)
	case KindFile:
		return s.file(d, se, de, sp, dp, rel)
	case KindSymlink:
		err = s.symlink(se, de, sp, dp, rel)
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
		if err := os.Remove(dp); err != nil {
			return fmt.Errorf("the target has a directory here; --delete replaces it: %w", err)
		}
		s.dur.entryChanged(dp)
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
			err = os.Mkdir(dp, 0o700)
			s.dur.entryChanged(dp)
		case de.Mode.Perm()&0o700 != 0o700:
			err = os.Chmod(dp, de.Mode.Perm()|0o700) // finishDir sets the source's
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
