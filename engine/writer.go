package engine

import "fmt"

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
	block int64
	buf   []byte
	n     int
}

// blockWriter writes one worker's received blocks in its own goroutine, in
// the order received, and adds each to the stripe's digest. After its
// first error it only returns buffers to the pool, and the session fails
// with that error.
type blockWriter struct {
	r    *receiver
	ss   *stripeState
	q    chan pendingWrite
	done chan error
}

func (r *receiver) startWriter(ss *stripeState) *blockWriter {
	bw := &blockWriter{r: r, ss: ss, q: make(chan pendingWrite, writeQueue), done: make(chan error, 1)}
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
			}
		}
		if pw.buf != nil {
			putBuf(r.p.BlockSize, pw.buf)
		}
	}
	bw.done <- err
}

// put adds a block to the stripe's digest and writes it.
func (bw *blockWriter) put(pw pendingWrite) error {
	r := bw.r
	if pw.buf == nil {
		w, _ := r.zero.get(pw.n)
		bw.ss.written.addSent(pw.block, w)
		return r.writeZero(pw.block, pw.n)
	}
	bw.ss.written.addSent(pw.block, r.weak(pw.buf))
	if _, err := r.dst.WriteAt(pw.buf, pw.block*int64(r.p.BlockSize)); err != nil {
		return fmt.Errorf("write %s: %w", r.dst.Name(), err)
	}
	r.countWritten(len(pw.buf))
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
