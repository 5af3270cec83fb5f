package engine

import (
	"fmt"

	"github.com/pdiffagent/pdiffagent/engine/cache"
)

// writeQueue is how many received blocks a worker may hand its writer
// before it waits: enough that the stream is read on while one write waits
// for the disk (an O_DIRECT write returns only when the device has the
// data), small enough that the bound on memory stays a few blocks per
// worker.
const writeQueue = 2

// pendingWrite is one received block on its way to the target: buf holds
// its bytes and goes back to the pool once written; a nil buf is a block of
// n zeros (CodecZero).
type pendingWrite struct {
	block  int64
	buf    []byte
	n      int
	off    int  // sub: the sub-block's offset within the block
	sub    bool // a sub-block of a refined block
	record bool // a refined block, settled: record it (buf holds its bytes, or is nil: read it back)
}

// blockWriter writes one worker's received blocks in its own goroutine, in
// the order received, and adds each to the stripe's digest. After its
// first error it only returns buffers to the pool, and the session fails
// with that error.
type blockWriter struct {
	r      *receiver
	rec    bool          // written blocks go to the cache's record and journal
	strong *strongHasher // their tier-2 hash, when rec
	ss     *stripeState
	q      chan pendingWrite
	done   chan error
}

func (r *receiver) startWriter(ss *stripeState) *blockWriter {
	bw := &blockWriter{r: r, ss: ss, q: make(chan pendingWrite, writeQueue), done: make(chan error, 1)}
	if bw.rec = r.cache.recording(); bw.rec {
		bw.strong, _ = newStrongHasher(r.p.Strong) // Strong was validated with the session
	}
	go bw.run()
	return bw
}

func (bw *blockWriter) run() {
	r := bw.r
	var err error
	for pw := range bw.q {
		if err == nil {
			err = bw.put(pw)
			if err != nil {
				r.sess.fail(err)
			} else {
				r.tot.landed.Add(1)
			}
		}
		if pw.buf != nil {
			releaseBuf(r.p.BlockSize, pw.buf)
		}
	}
	bw.done <- err
}

// put adds a block to the stripe's digest and writes it; once written, the
// block's tier-1 and tier-2 hashes go to the cache's record and journal (a
// zero block's are known constants), so that the next session, or the
// rerun of this one, reads none of the blocks this one wrote (doc.go,
// "Receiver records"). A failed write leaves the block unknown, so the
// journal may not be sealed.
func (bw *blockWriter) put(pw pendingWrite) error {
	r := bw.r
	switch {
	case pw.sub:
		return bw.putSub(pw)
	case pw.record:
		return bw.putRefined(pw)
	}
	var e cache.Entry
	if pw.buf == nil {
		e.Weak, e.Strong = r.zero.get(pw.n)
		bw.ss.written.addSent(pw.block, e.Weak)
		if err := r.writeZero(pw.block, pw.n); err != nil {
			r.cache.writeFailed()
			return err
		}
	} else {
		e.Weak = r.weak(pw.buf)
		bw.ss.written.addSent(pw.block, e.Weak)
		if err := r.cache.beforeWrite(); err != nil {
			return err
		}
		if _, err := r.dst.WriteAt(pw.buf, pw.block*int64(r.p.BlockSize)); err != nil {
			r.cache.writeFailed()
			return fmt.Errorf("write %s: %w", r.dst.Name(), err)
		}
		r.countWritten(len(pw.buf))
		if bw.rec {
			e.Strong = bw.strong.sum(pw.buf)
		}
	}
	if bw.rec {
		r.cache.put(pw.block, []cache.Entry{e})
	}
	return nil
}

// write queues a block of data; the writer owns buf from here on.
func (bw *blockWriter) write(block int64, buf []byte) {
	bw.q <- pendingWrite{block: block, buf: buf, n: len(buf)}
}

// writeZeros queues a block of n zeros.
func (bw *blockWriter) writeZeros(block int64, n int) {
	bw.q <- pendingWrite{block: block, n: n}
}

// wait lets the writer finish what is queued and returns its error. It
// may be called once.
func (bw *blockWriter) wait() error {
	close(bw.q)
	return <-bw.done
}
