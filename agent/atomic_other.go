//go:build !linux

package agent

import (
	"os"

	"github.com/pdiffagent/pdiffagent/wire"
)

// openDir: atomic pushes need directory descriptors beneath the root,
// which this platform's jail (os.Root) does not hand out.
func (j *jail) openDir(rel string) (*os.File, error) {
	return nil, codeErrorf(wire.CodeBadRequest, "%s: this server cannot replace files atomically on this platform", rel)
}
