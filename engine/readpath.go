package engine

import (
	"fmt"

	"github.com/pdiffagent/pdiffagent/sysio"
)

// ReadPath selects how the hashing passes read the blocks of a file; see
// doc.go for the measurements behind the default.
type ReadPath uint8

// Read paths.
const (
	// ReadPread (the default) preads each block into a pooled, aligned
	// buffer, after posix_fadvise SEQUENTIAL and WILLNEED for the stripe.
	ReadPread ReadPath = iota
	// ReadMmap hashes blocks in place through a read-only mapping of one
	// batch at a time (mapped.go), copying out only the blocks that travel.
	ReadMmap
)

var readPathNames = [...]string{ReadPread: "pread", ReadMmap: "mmap"}

func (r ReadPath) String() string {
	if int(r) < len(readPathNames) {
		return readPathNames[r]
	}
	return fmt.Sprintf("readpath(%d)", uint8(r))
}

// ParseReadPath reads a --read-path value.
func ParseReadPath(s string) (ReadPath, error) {
	for r, n := range readPathNames {
		if n == s {
			return ReadPath(r), nil
		}
	}
	return 0, fmt.Errorf("read path %q: want pread or mmap", s)
}

// adviseStripe tells the kernel that one side reads [off, end) of f (nil:
// no file) in order, soon (posix_fadvise SEQUENTIAL and WILLNEED), so that
// read-ahead runs ahead of pread. Reads that bypass the cache need none.
func adviseStripe(f *sysio.File, off, end int64) {
	if f != nil && end > off && !f.Direct() {
		f.AdviseSequential(off, end-off)
	}
}
