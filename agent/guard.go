package agent

import (
	"os"

	"github.com/pdiffagent/pdiffagent/sysio"
	"github.com/pdiffagent/pdiffagent/wire"
)

// The server's open-time policy on a target or source, checked on the
// opened descriptor (never on the path, which may change meanwhile):
//
//   - Hard links: openat2(RESOLVE_BENEATH) keeps every path beneath the
//     root, but a regular file with a second name may share its inode
//     with a file outside it (a local user's `ln /outside/secret
//     root/x`). Such a file is neither served nor written in place unless
//     the server allows it (ServerConfig.AllowHardlinks). An atomic push
//     replaces the name instead of writing through it, and then starts
//     from an empty file rather than a copy of the linked one, so that
//     its verdicts reveal nothing of that file.

// checkLinks refuses a file with more than one name, unless allowed.
func checkLinks(f *os.File, rel string, allow bool) error {
	if allow {
		return nil
	}
	n, err := sysio.LinkCount(f)
	if err != nil {
		return codeErrorf(wire.CodeIO, "%s: %v", rel, err)
	}
	if n > 1 {
		return errHardLinked(rel, n)
	}
	return nil
}

func errHardLinked(rel string, n uint64) error {
	return codeErrorf(wire.CodeDenied, "%s has %d hard links: a file with other names, perhaps outside the root, "+
		"is neither served nor written in place (an --atomic push replaces it; the server may allow it with --allow-hardlinks)", rel, n)
}
