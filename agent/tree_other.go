//go:build !unix

package agent

import (
	"errors"
	"io/fs"
	"os"
	"time"

	"github.com/pdiffagent/pdiffagent/wire"
)

func lutimesAt(*os.File, string, time.Time) error {
	return errors.New("setting a symlink's time is not supported on this platform")
}

func statIDs(fs.FileInfo, *wire.TreeEntry) {}

func deviceMode(fs.FileMode) uint32 { return 0 } // MknodAt is not supported here
