package cache

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"os"
	"strings"

	"github.com/pdiffagent/pdiffagent/sysio"
)

// The path index (doc.go, "Path index"): beside a record "r-…" or "d-…",
// a small file "p-…" naming the path its file had when a server last
// synced it. Layout: pathMagic, crc32c (4, little endian) of the path,
// the path.
const (
	pathMagic  = "PDAPATH1"
	pathPrefix = "p-"
	pathHead   = len(pathMagic) + 4
	// maxIndexPath bounds a path kept in the index (PATH_MAX), checked
	// before a buffer is taken for one read back.
	maxIndexPath = 4096
	// pathBatch is how many directory entries Paths holds at a time.
	pathBatch = 256
)

// PathEntry is one entry of the path index: the path the file of a record
// had when its record was last made or used by a server.
type PathEntry struct {
	Path string
	key  string
}

// Names reports whether id, the identity of the file Path names now, is
// the file the entry's record is kept for (its device and inode; a block
// device's number). A path that now names another file is not that
// record's file, whatever its content.
func (e PathEntry) Names(id sysio.Identity) bool { return key(id) == e.key }

// NotePath puts in the path index that f, whose record (if any) is in s,
// is named path. It does nothing when f has no record, or when the index
// says so already. The entry is written to a temporary file and renamed
// into place, without a sync: a lost or torn entry (caught by its
// checksum) only leaves the file out of scrubs until its next session.
func (s *Store) NotePath(f *sysio.File, path string) error {
	if len(path) > maxIndexPath {
		return fmt.Errorf("cache: path of %d bytes, more than %d", len(path), maxIndexPath)
	}
	id, err := f.Identity()
	if err != nil {
		return err
	}
	k := key(id)
	if _, err := os.Stat(s.path(k)); err != nil {
		return nil // no record: nothing to find the path of
	}
	if old, err := s.readPath(pathPrefix + k); err == nil && old == path {
		return nil
	}
	var rnd [8]byte
	rand.Read(rnd[:])
	tmp := s.path(fmt.Sprintf("tmp-p-%s-%x", k, rnd))
	if err := os.WriteFile(tmp, encodePath(path), 0o600); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("cache: %w", err)
	}
	if err := os.Rename(tmp, s.path(pathPrefix+k)); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("cache: %w", err)
	}
	return nil
}

// Paths calls fn with every entry of the path index, in no order, reading
// the cache directory a batch of entries at a time, so that memory does
// not grow with the number of records. A torn or corrupt entry is removed
// and skipped. An error from fn stops the walk and is returned. Entries
// added or removed meanwhile may or may not be seen.
func (s *Store) Paths(fn func(PathEntry) error) error {
	d, err := os.Open(s.dir)
	if err != nil {
		return fmt.Errorf("cache: %w", err)
	}
	defer d.Close()
	for {
		names, err := d.Readdirnames(pathBatch)
		for _, n := range names {
			k, ok := strings.CutPrefix(n, pathPrefix)
			if !ok {
				continue
			}
			p, err := s.readPath(n)
			if errors.Is(err, ErrCorrupt) {
				os.Remove(s.path(n))
			}
			if err != nil {
				continue
			}
			if err := fn(PathEntry{Path: p, key: k}); err != nil {
				return err
			}
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("cache: %w", err)
		}
	}
}

// ForgetPath removes e from the path index (the record stays, for LRU
// eviction: its file may still exist under another name).
func (s *Store) ForgetPath(e PathEntry) error {
	if err := os.Remove(s.path(pathPrefix + e.key)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("cache: %w", err)
	}
	return nil
}

func encodePath(path string) []byte {
	b := make([]byte, pathHead, pathHead+len(path))
	copy(b, pathMagic)
	binary.LittleEndian.PutUint32(b[len(pathMagic):], crc32.Checksum([]byte(path), castagnoli))
	return append(b, path...)
}

// readPath reads the index entry name; ErrCorrupt for one that fails its
// checks.
func (s *Store) readPath(name string) (string, error) {
	f, err := os.Open(s.path(name))
	if err != nil {
		return "", err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, int64(pathHead+maxIndexPath+1)))
	if err != nil {
		return "", err
	}
	return decodePath(b)
}

func decodePath(b []byte) (string, error) {
	if len(b) <= pathHead || len(b) > pathHead+maxIndexPath || !bytes.HasPrefix(b, []byte(pathMagic)) ||
		binary.LittleEndian.Uint32(b[len(pathMagic):]) != crc32.Checksum(b[pathHead:], castagnoli) {
		return "", fmt.Errorf("%w: path index entry", ErrCorrupt)
	}
	return string(b[pathHead:]), nil
}
