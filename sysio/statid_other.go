//go:build !linux

package sysio

import (
	"io/fs"
	"os"
)

// There is no identity the cache trusts here (identity_other.go).
func dirFilesystem(dir *os.File) (Filesystem, error) { return Filesystem{}, ErrNotSupported }

func statIdentity(fs.FileInfo, Filesystem) (Identity, bool) { return Identity{}, false }

func pathIdentity(string) (Identity, bool) { return Identity{}, false }
