package agent

import (
	"github.com/pdiffagent/pdiffagent/engine"
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
