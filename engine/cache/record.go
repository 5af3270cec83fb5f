package cache

import (
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"sync"

	"github.com/pdiffagent/pdiffagent/sysio"
)

// maxPending bounds the chunks a Writer holds partly filled. Writers fill
// stripes in block order, so each stripe has at most two partial chunks
// (the one it shares with its neighbour and the one it is filling).
const maxPending = 256

// Writer streams one record to a temporary file in the cache directory,
// chunk by chunk, in any order of blocks: Put may be called from the
// workers of a pipeline (it locks). Nothing is visible under the record's
// name until the Store commits it.
type Writer struct {
	mu      sync.Mutex
	store   *Store
	key     string
	f       *os.File
	tmp     string
	hdr     Header
	pending map[uint64]*pendingChunk
	full    uint64 // chunks written
	err     error
	done    bool
	expect  *sysio.Identity // Expect
	sum     chunkSum        // of the chunks written (digest.go)
}

// Expect makes the commit fail unless the file's identity then is id: a
// side that only read the file (a sender) took id, once its racy window
// had passed (Settle), before reading it, so that a write made while it
// read cannot leave a record of what was read before.
func (w *Writer) Expect(id sysio.Identity) {
	w.mu.Lock()
	w.expect = &id
	w.mu.Unlock()
}

type pendingChunk struct {
	buf  []byte // chunkHead + entries
	have []bool
	n    int
}

// Put records the hashes of blocks [first, first+len(es)); an entry may
// hold NoStrong (the record is then Lazy). A block given twice, or beyond
// the end, is an error.
func (w *Writer) Put(first uint64, es []Entry) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err != nil {
		return w.err
	}
	if first+uint64(len(es)) > w.hdr.Blocks || first+uint64(len(es)) < first {
		return w.fail(fmt.Errorf("cache: blocks [%d,+%d) beyond %d", first, len(es), w.hdr.Blocks))
	}
	for len(es) > 0 {
		c := first / chunkBlocks
		at := int(first % chunkBlocks)
		n := min(len(es), chunkLen(w.hdr.Blocks, c)-at)
		if err := w.putChunk(c, at, es[:n]); err != nil {
			return w.fail(err)
		}
		first += uint64(n)
		es = es[n:]
	}
	return nil
}

func (w *Writer) fail(err error) error {
	w.err = err
	return err
}

func (w *Writer) putChunk(c uint64, at int, es []Entry) error {
	p := w.pending[c]
	if p == nil {
		if len(w.pending) >= maxPending {
			return fmt.Errorf("cache: more than %d partly written chunks", maxPending)
		}
		n := chunkLen(w.hdr.Blocks, c)
		p = &pendingChunk{buf: make([]byte, chunkHead+n*entrySize), have: make([]bool, n)}
		w.pending[c] = p
	}
	for i := range es {
		if p.have[at+i] {
			return fmt.Errorf("cache: block %d recorded twice", c*chunkBlocks+uint64(at+i))
		}
		p.have[at+i] = true
		if !es[i].HasStrong() {
			w.hdr.Lazy = true
		}
		putEntry(p.buf[chunkHead+(at+i)*entrySize:], &es[i])
	}
	p.n += len(es)
	if p.n < len(p.have) {
		return nil
	}
	delete(w.pending, c)
	w.sum.add(c, p.buf[chunkHead:])
	le := binary.LittleEndian
	le.PutUint64(p.buf, c*chunkBlocks)
	le.PutUint32(p.buf[8:], uint32(p.n))
	le.PutUint32(p.buf[12:], chunkCRC(w.hdr.nonce[:], p.buf[:12], p.buf[chunkHead:]))
	if _, err := w.f.WriteAt(p.buf, chunkOffset(c)); err != nil {
		return err
	}
	w.full++
	return nil
}

// Abort removes the temporary file; the record is not made.
func (w *Writer) Abort() {
	if w.done {
		return
	}
	w.done = true
	w.f.Close()
	os.Remove(w.tmp)
}

// Record is a committed record opened for reading. Its methods are safe
// for concurrent use (they read with pread and keep no position).
type Record struct {
	Header
	f    *os.File
	path string
	// Digest identifies the whole hash list (digest.go); HasDigest is
	// false for a Lazy record and one made before records had it.
	Digest    [DigestSize]byte
	HasDigest bool

	// The last chunks verified and decoded, at most keepChunks: a sync
	// reads its record a batch at a time (a few blocks), each worker in
	// order through its stripe, so each chunk is asked for many times
	// (a 16 GiB file at 1 MiB blocks read and checked its 16 chunks 4096
	// times, 0.24 of the 0.7 CPU-s of an unchanged push).
	mu     sync.Mutex
	chunks map[uint64][]Entry
}

// keepChunks bounds Record.chunks (about 40 KiB each).
const keepChunks = 64

// Close closes the record file.
func (r *Record) Close() error { return r.f.Close() }

// Range calls fn with the recorded hashes of blocks [first, first+n), in
// order, one chunk (at most chunkBlocks entries) at a time, each chunk's
// checksum verified before it is passed on. fn must not modify or keep
// the slice. An error (ErrCorrupt for a bad chunk) stops the walk; the
// caller must then read the file for the blocks fn did not receive.
func (r *Record) Range(first, n uint64, fn func(first uint64, es []Entry) error) error {
	if first+n > r.Blocks || first+n < first {
		return fmt.Errorf("cache: range [%d,+%d) beyond %d blocks", first, n, r.Blocks)
	}
	for n > 0 {
		c := first / chunkBlocks
		all, err := r.chunk(c)
		if err != nil {
			return err
		}
		at := first % chunkBlocks
		k := min(n, uint64(len(all))-at)
		if err := fn(first, all[at:at+k]); err != nil {
			return err
		}
		first += k
		n -= k
	}
	return nil
}

// Read fills dst with the hashes of blocks [first, first+len(dst)).
func (r *Record) Read(first uint64, dst []Entry) error {
	return r.Range(first, uint64(len(dst)), func(at uint64, es []Entry) error {
		copy(dst[at-first:], es)
		return nil
	})
}

// chunk returns chunk c's entries, verified, from Record.chunks or read.
func (r *Record) chunk(c uint64) ([]Entry, error) {
	r.mu.Lock()
	es, ok := r.chunks[c]
	r.mu.Unlock()
	if ok {
		return es, nil
	}
	es, err := r.readChunk(c, make([]byte, chunkStride), make([]Entry, 0, chunkLen(r.Blocks, c)))
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	if r.chunks == nil {
		r.chunks = make(map[uint64][]Entry)
	}
	if len(r.chunks) >= keepChunks {
		for k := range r.chunks { // any one: each worker is at one chunk at a time
			delete(r.chunks, k)
			break
		}
	}
	r.chunks[c] = es
	r.mu.Unlock()
	return es, nil
}

func (r *Record) readChunk(c uint64, buf []byte, es []Entry) ([]Entry, error) {
	n := chunkLen(r.Blocks, c)
	b := buf[:chunkHead+n*entrySize]
	if _, err := r.f.ReadAt(b, chunkOffset(c)); err != nil {
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			return nil, fmt.Errorf("%w: chunk %d truncated", ErrCorrupt, c)
		}
		return nil, err
	}
	le := binary.LittleEndian
	if le.Uint64(b) != c*chunkBlocks || le.Uint32(b[8:]) != uint32(n) ||
		le.Uint32(b[12:]) != chunkCRC(r.nonce[:], b[:12], b[chunkHead:]) {
		return nil, fmt.Errorf("%w: chunk %d of %s", ErrCorrupt, c, r.path)
	}
	for i := range n {
		var e Entry
		getEntry(b[chunkHead+i*entrySize:], &e)
		es = append(es, e)
	}
	return es, nil
}
