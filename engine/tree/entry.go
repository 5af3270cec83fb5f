package tree

import (
	"io/fs"
	"os"

	"github.com/pdiffagent/pdiffagent/engine/cache"
)

// Kind is what a tree entry is.
type Kind uint8

// Entry kinds. Everything else (FIFOs, sockets) is Special: skipped with a
// warning.
const (
	KindFile Kind = iota + 1
	KindDir
	KindSymlink
	KindDevice // a block or character device: only with AllowDevices
	KindSpecial
)

func (k Kind) String() string {
	switch k {
	case KindFile:
		return "file"
	case KindDir:
		return "directory"
	case KindSymlink:
		return "symlink"
	case KindDevice:
		return "device"
	}
	return "special file"
}

// Entry is one entry of a tree as lstat saw it (a symlink is never
// followed).
type Entry struct {
	Kind    Kind
	Mode    fs.FileMode
	Size    int64
	ModTime int64 // unix nanoseconds
	Uid     uint32
	Gid     uint32
	// Nlink, Dev and Ino identify hard links (zero where the platform has
	// none); Rdev is a device's number.
	Nlink    uint64
	Dev, Ino uint64
	Rdev     uint64
	// Record is the digest of a regular file's current block-hash record
	// as the side that listed it found it, for exactly this Size and
	// ModTime (a server's listing, with wire.CapTreeRecords); nil: none,
	// or not looked up (a local listing never looks up: records.go asks
	// the local cache when it matters).
	Record *RecordDigest
}

// RecordDigest is a block-hash record's digest (engine/cache).
type RecordDigest = [cache.DigestSize]byte

// lstat describes path without following a final symlink.
func lstat(path string) (Entry, error) {
	fi, err := os.Lstat(path)
	if err != nil {
		return Entry{}, err
	}
	return entryOf(fi), nil
}

func entryOf(fi fs.FileInfo) Entry {
	m := fi.Mode()
	e := Entry{Mode: m, Size: fi.Size(), ModTime: fi.ModTime().UnixNano()}
	switch {
	case m.IsRegular():
		e.Kind = KindFile
	case m.IsDir():
		e.Kind = KindDir
	case m&fs.ModeSymlink != 0:
		e.Kind = KindSymlink
	case m&fs.ModeDevice != 0:
		e.Kind = KindDevice
	default:
		e.Kind = KindSpecial
	}
	sysStat(fi, &e)
	return e
}
