package agent

import (
	"errors"
	"os"

	"github.com/pdiffagent/pdiffagent/sysio"
	"github.com/pdiffagent/pdiffagent/wire"
)

// Room on the server's disk. A push may make its target larger; before the
// server answers the Open it checks, on the opened target or on the
// directory a new one goes into, that the source's size is within
// ServerConfig.MaxFileSize and that the growth fits in the filesystem's
// free space (fstatfs: what an unprivileged writer may take, so root's
// reserve is never counted) minus the reserve, ServerConfig.MinFree. The
// growth counted is the whole of it, sparse or not: the blocks written
// later need the room even if the extension itself is a hole. An atomic
// push needs room for the whole new copy beside the old one (a reflink may
// need less; the check does not guess).
//
// The checks run in the server's opener (opener.go), where every push's
// target is opened or created. A push that fails leaves its target as it
// found it when nothing was written yet (engine.Target.Close: a file it
// created is removed, a file it extended is truncated back to its old
// size). Once blocks were written the target stays partly updated, and
// the log says so.

// DefaultMinFreePercent is the reserve kept free on the server's
// filesystem when ServerConfig.MinFree is zero: this percentage of it.
const DefaultMinFreePercent = 1

// reserve is the bytes a push must leave free on a filesystem of total
// bytes.
func (c *ServerConfig) reserve(total uint64) uint64 {
	switch {
	case c.MinFree < 0:
		return 0
	case c.MinFree > 0:
		return uint64(c.MinFree)
	}
	pct := c.MinFreePercent
	if pct <= 0 {
		pct = DefaultMinFreePercent
	}
	return total / 100 * uint64(min(pct, 100))
}

// checkRoom refuses a push of a size-byte source to rel that is larger
// than MaxFileSize, or whose target would grow by grow bytes beyond the
// room above the reserve. on is the target or the directory a new target
// goes into.
func (s *Server) checkRoom(on *os.File, rel string, size, grow int64) error {
	if max := s.cfg.MaxFileSize; max > 0 && size > max {
		return codeErrorf(wire.CodeDenied, "%s: the source's %d bytes exceed this server's file size limit of %d bytes (--max-file-size)", rel, size, max)
	}
	if grow <= 0 {
		return nil
	}
	sp, err := sysio.FreeSpace(on)
	if errors.Is(err, sysio.ErrNotSupported) {
		return nil
	}
	if err != nil {
		return codeErrorf(wire.CodeIO, "%s: %v", rel, err)
	}
	res := s.cfg.reserve(sp.Total)
	if sp.Avail < res || uint64(grow) > sp.Avail-res {
		free := int64(0)
		if sp.Avail > res {
			free = int64(sp.Avail - res)
		}
		return codeErrorf(wire.CodeIO, "%s: not enough space on the server: the target needs %d more bytes, the filesystem has %d free above its reserve of %d (--min-free)", rel, grow, free, res)
	}
	return nil
}
