package cache

import (
	"errors"
	"io"
	"io/fs"
	"os"

	"github.com/pdiffagent/pdiffagent/sysio"
)

// CurrentDigest is the record digest of the regular file whose identity
// is id, when that file has a current record: one made for exactly id
// (every field equal: device, inode, size, mtime, ctime, filesystem type,
// on a filesystem the cache trusts), complete (a valid digest trailer: no
// Lazy entry) and made for blockSize and method. ok is false otherwise.
// Like Inspect it changes nothing (a stale record is left for a Lookup to
// remove and report), and it needs no open file: id may come from the
// lstat a tree's listing made (sysio.StatIdentity), so that the digest
// vouches for exactly what that listing says of the file. Two files whose
// current records have the same digest are equal (engine, "Equal by
// records"). It costs an open of the record's path (none there: one
// failed open), a header read and, for a current one, a trailer read.
func (s *Store) CurrentDigest(id sysio.Identity, blockSize int, method uint8) (d [DigestSize]byte, ok bool) {
	if id.Device || !s.trusted(id) {
		return d, false
	}
	rf, h, _ := openHeader(s.path(key(id)))
	if rf == nil {
		return d, false
	}
	defer rf.Close()
	if h.Identity != id || h.BlockSize != blockSize || h.Method != method {
		return d, false
	}
	return readTrailer(rf, &h)
}

// openHeader opens the record p and reads its header: rf is nil when
// there is none (err nil), or none that can be read (a torn or corrupt
// header: err nil too; another error opening it: err).
func openHeader(p string) (rf *os.File, h Header, err error) {
	rf, err = os.Open(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, h, nil
	}
	if err != nil {
		return nil, h, err
	}
	b := make([]byte, headerSize)
	if _, err := io.ReadFull(rf, b); err != nil {
		rf.Close()
		return nil, h, nil
	}
	if h, err = decodeHeader(b); err != nil {
		rf.Close()
		return nil, h, nil
	}
	return rf, h, nil
}
