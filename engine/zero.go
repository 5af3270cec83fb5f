package engine

import (
	"bytes"
	"errors"
	"io"
	"sync"

	"github.com/pdiffagent/pdiffagent/sysio"
	"github.com/pdiffagent/pdiffagent/wire"
)

var zeroChunk [64 << 10]byte

// isZero reports whether b holds only zero bytes. On data that is not
// zero it returns at the first chunk, so checking every sent block is cheap.
func isZero(b []byte) bool {
	for len(b) > 0 {
		n := min(len(b), len(zeroChunk))
		if !bytes.Equal(b[:n], zeroChunk[:n]) {
			return false
		}
		b = b[n:]
	}
	return true
}

// zeroHashes caches the hashes of all-zero blocks; a sync sees at most two
// lengths (the block size and the file's last block).
type zeroHashes struct {
	mu     sync.Mutex
	weak   map[int]uint64
	strong map[int][wire.StrongSize]byte
	wf     WeakFunc
	sh     StrongHash
}

func newZeroHashes(wf WeakFunc, sh StrongHash) *zeroHashes {
	return &zeroHashes{weak: map[int]uint64{}, strong: map[int][wire.StrongSize]byte{}, wf: wf, sh: sh}
}

func (z *zeroHashes) get(n int) (uint64, [wire.StrongSize]byte) {
	z.mu.Lock()
	defer z.mu.Unlock()
	if w, ok := z.weak[n]; ok {
		return w, z.strong[n]
	}
	buf := make([]byte, n)
	h, _ := newStrongHasher(z.sh) // validated with the params
	w, s := z.wf(buf), h.sum(buf)
	z.weak[n], z.strong[n] = w, s
	return w, s
}

// holeScanner tells, block by block in increasing order, whether a block
// lies wholly in a hole of f, so that holes are never read. It asks the
// filesystem (SEEK_DATA) at most once per block that holds data.
type holeScanner struct {
	f        *sysio.File
	nextData int64 // no data in [known, nextData)
	known    int64
	off      bool // SEEK_DATA unsupported or failed: treat all as data
}

func newHoleScanner(f *sysio.File) *holeScanner {
	return &holeScanner{f: f, nextData: -1, known: -1}
}

func (h *holeScanner) hole(off int64, n int) bool {
	if h.off || h.f == nil {
		return false
	}
	if off < h.known || off >= h.nextData {
		d, err := h.f.NextData(off)
		switch {
		case errors.Is(err, io.EOF) || d < 0:
			d = 1<<63 - 1 // nothing but hole from off on
		case err != nil:
			h.off = true
			return false
		}
		h.known, h.nextData = off, d
	}
	return off+int64(n) <= h.nextData
}
