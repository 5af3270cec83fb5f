package agent

import (
	"errors"
	"path"

	"github.com/pdiffagent/pdiffagent/engine"
	"github.com/pdiffagent/pdiffagent/sysio"
	"github.com/pdiffagent/pdiffagent/wire"
)

// An atomic push (wire.FlagAtomic) runs the receiver into a temporary file
// beside the target, .NAME.pdiffagent-XXXXXXXX, created beneath the root
// like every other file (the directory is opened through the jail, the
// temporary file O_EXCL in it, never through a link). It starts as a
// reflink clone of the target, or a copy where the filesystem has no
// reflinks, made before the server answers the Open; a missing target
// means an empty start. The engine writes and fsyncs it; the rename over
// the target (and an fsync of the directory) happens before the FinalAck
// goes out, so a client told "verified" finds the new file in place, and a
// failed rename reaches it as an error. Any failure removes the temporary
// file; a server killed meanwhile leaves it behind (the target is intact).
// The lock is the target's (its inode, or its path when it is missing).

// openAtomic prepares t, a push of rel, for an atomic replacement.
func (s *Server) openAtomic(t *target, rel string) (*target, error) {
	dir, err := s.jail.openDir(rel)
	if err != nil {
		return nil, err
	}
	// The new copy is whole beside the old one until the rename.
	if err := s.checkRoom(dir, rel, t.p.Size, t.p.Size); err != nil {
		dir.Close()
		return nil, err
	}
	r, err := sysio.ReplaceAt(dir, path.Base(rel), rel, sysio.Options{Direct: t.eopt.Direct})
	switch {
	case errors.Is(err, sysio.ErrSymlink):
		return nil, codeErrorf(wire.CodeDenied, "%v", err)
	case errors.Is(err, sysio.ErrNotRegular):
		return nil, codeErrorf(wire.CodeBadRequest, "%v", err)
	case err != nil:
		return nil, codeErrorf(wire.CodeIO, "%v", err)
	}
	t.key = fileKey{path: rel}
	if dev, ino, ok := r.OldID(); ok {
		t.key = fileKey{dev: dev, ino: ino}
	}
	if !s.locks.tryLock(t.key, true) {
		r.Close()
		return nil, codeErrorf(wire.CodeBusy, "%s is busy with another transfer", rel)
	}
	t.locked, t.repl, t.file = true, r, r.File
	if !s.cfg.AllowHardlinks {
		// The name is replaced, the other names keep the old file; start
		// empty rather than from a copy of a file that may not be ours.
		if n, err := r.OldLinks(); err != nil || n > 1 {
			if err != nil {
				t.close()
				return nil, codeErrorf(wire.CodeIO, "%s: %v", rel, err)
			}
			return t, nil
		}
	}
	if err := r.Fill(s.ctx); err != nil {
		t.close()
		return nil, codeErrorf(wire.CodeIO, "%v", err)
	}
	return t, nil
}

// commitStream is stream 0 of an atomic push: the FinalAck, which tells the
// client that the target is final, goes out only after commit (the rename)
// has succeeded; a failed commit fails the session instead.
type commitStream struct {
	engine.Stream
	commit func() error
}

func (c *commitStream) Send(m wire.Message) error {
	if _, ok := m.(*wire.FinalAck); ok {
		if err := c.commit(); err != nil {
			return err
		}
	}
	return c.Stream.Send(m)
}
