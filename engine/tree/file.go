package tree

import (
	"errors"
	"fmt"

	"github.com/pdiffagent/pdiffagent/engine"
	"github.com/pdiffagent/pdiffagent/sysio"
)

// file plans a regular file: a hard link to a file already synced (with
// HardLinks), skipped by the quick check (size and mtime equal, unless
// ChecksumAll), or a job for the scheduler that runs the single-file
// engine on it with as many workers as its size is worth.
func (s *syncer) file(d *dirNode, se, de Entry, sp, dp, rel string) error {
	s.count(func(st *Stats) { st.Files++; st.BytesTotal += se.Size })
	pr := s.opt.Progress
	pr.Files.Add(1)
	pr.Bytes.Add(se.Size)
	var group *linkGroup
	if s.opt.HardLinks && se.Nlink > 1 {
		var follow bool
		if group, follow = s.links.see(se, dp, rel, d); follow {
			pr.FilesDone.Add(1)
			pr.BytesDone.Add(se.Size)
			pr.BytesSkipped.Add(se.Size)
			return nil
		}
	}
	if de.Kind != KindFile {
		if err := s.clear(de, dp, rel); err != nil {
			s.fileDone(group, rel, se.Size, err)
			return nil
		}
		de = Entry{}
	}
	if de.Kind == KindFile && de.Size == se.Size && de.ModTime == se.ModTime && !s.opt.ChecksumAll {
		verified := s.sameRecords(sp, dp, se, de)
		s.count(func(st *Stats) {
			if verified {
				st.FilesVerified++
			} else {
				st.FilesSkipped++
			}
		})
		pr.BytesSkipped.Add(se.Size)
		err := error(nil)
		if !s.dryRun {
			err = s.applyMeta(dp, de, se, true) // owner or mode may differ
		}
		s.fileDone(group, rel, se.Size, err)
		return nil
	}
	if s.dryRun && de.Kind == 0 {
		// New: every block would be sent (and its directory may not exist
		// yet, which the engine's dry run cannot compare against).
		s.count(func(st *Stats) { st.FilesChanged++ })
		pr.BytesSkipped.Add(se.Size)
		s.fileDone(group, rel, se.Size, nil)
		return nil
	}
	p := engine.Params{Session: s.opt.Session}
	p.Workers = s.sched.workersFor(se.Size, p.BlockSize)
	d.acquire()
	pr.start(rel, se.Size)
	err := s.sched.run(s.ctx, p.Workers, func() {
		defer d.release()
		err := s.syncFile(sp, dp, se, de, p)
		s.fileDone(group, rel, se.Size, err)
	})
	if err != nil { // cancelled before it started
		s.fileDone(group, rel, se.Size, err)
		d.release()
	}
	return err
}

// smallFile is the size under which files are written through the page
// cache: O_DIRECT pays on large sequential writes, not on small files,
// where its second descriptor doubles the opens.
const smallFile = 1 << 20

// syncFile runs the engine on one file.
func (s *syncer) syncFile(sp, dp string, se, de Entry, p engine.Params) error {
	opt := s.opt.Engine
	opt.Records, opt.DeferSync, opt.Progress = s.rec, true, &s.opt.Progress.Engine
	// Each small file is a sync of its own: alone, every rewritten one
	// would be searched whole for moved data (engine.SearchShare).
	opt.Search, opt.Recv = &s.search, &s.recv // a pull's or local sync's receiving side: engine.RecvShare
	if !Recorded(se.Size, p.BlockSize) {
		opt.Cache, opt.Records = nil, nil
	}
	if opt.Direct == sysio.DirectAuto && se.Size < smallFile {
		opt.Direct = sysio.DirectOff // a second descriptor per file for nothing
	}
	st, err := s.tgt.SyncFile(s.ctx, sp, dp, se, de, p, opt, s.opt.Atomic)
	s.count(func(t *Stats) {
		t.addFile(st)
		switch {
		case err != nil:
		case st.BlocksChanged > 0 || de.Kind == 0 || de.Size != se.Size:
			t.FilesChanged++
		default:
			t.FilesVerified++
		}
	})
	if errors.Is(err, engine.ErrSourceChanged) {
		return errors.New("changed during the sync (run again to sync it)")
	}
	if err == nil && s.opt.Session.Owner && !s.dryRun {
		// the engine gives the owner only to files it wrote into
		err = s.ownerOf(dp, se)
	}
	return err
}

// ownerOf gives the target file the source's owner where it differs.
func (s *syncer) ownerOf(dp string, se Entry) error {
	cur, err := s.tgt.Lstat(dp)
	if err != nil || (cur.Uid == se.Uid && cur.Gid == se.Gid) {
		return err
	}
	return s.tgt.Meta(dp, se, MetaOwner)
}

// fileDone ends a file: its hard links follow (or fail) with it, the
// progress moves on, a failure is recorded.
func (s *syncer) fileDone(g *linkGroup, rel string, size int64, err error) {
	if err != nil && s.ctx.Err() == nil {
		s.fail(rel, err)
	}
	if g != nil {
		s.links.done(s, g, err == nil)
	}
	s.opt.Progress.end(rel, size)
}

// symlink makes the target entry dp a symlink with the source's target
// (never followed, read or resolved), then gives it the owner and mtime.
func (s *syncer) symlink(sd, dd Dirent, dp, rel string) error {
	s.count(func(st *Stats) { st.Symlinks++ })
	se, target := sd.Entry, sd.Link
	if dd.Kind == KindSymlink && dd.Link == target {
		if s.dryRun {
			return nil
		}
		return s.applyMeta(dp, dd.Entry, se, false)
	}
	if err := s.clear(dd.Entry, dp, rel); err != nil { // any other kind, or another link
		return err
	}
	if s.dryRun {
		return nil
	}
	if err := s.tgt.Symlink(dp, target); err != nil {
		return err
	}
	cur, err := s.tgt.Lstat(dp)
	if err != nil {
		return err
	}
	return s.applyMeta(dp, cur.Entry, se, false)
}

// device makes a device node like the source's (root only).
func (s *syncer) device(se, de Entry, dp, rel string) error {
	s.count(func(st *Stats) { st.Devices++ })
	if de.Kind == KindDevice && de.Rdev == se.Rdev && de.Mode.Type() == se.Mode.Type() {
		if s.dryRun {
			return nil
		}
		return s.applyMeta(dp, de, se, true)
	}
	if err := s.clear(de, dp, rel); err != nil {
		return err
	}
	if s.dryRun {
		return nil
	}
	if err := s.tgt.Mknod(dp, se); err != nil {
		return fmt.Errorf("create device: %w", err)
	}
	cur, err := s.tgt.Lstat(dp)
	if err != nil {
		return err
	}
	return s.applyMeta(dp, cur.Entry, se, true)
}
