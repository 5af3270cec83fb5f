package agent

import (
	"bufio"
	"io"
	"net"
	"sync"
)

// batchBytes bounds what batchConn gathers before a write, and what it
// reads at once.
const batchBytes = 64 << 10

// batchConn is the TCP socket under a stream's TLS. crypto/tls writes
// every record of at most 16 KiB with a write of its own, and reads a
// record or two at a time: one system call per 16 KiB, where system calls
// are costly (on this VM, a paravirtualized one, the kernel's share of a
// push was mostly their entry and exit). While a message is written
// (hold, netStream.Send), the records go into one buffer that reaches the
// socket in writes of batchBytes, the last at release; reads go through a
// buffer of batchBytes. Writes outside a message (the handshake, alerts,
// close_notify) go straight through.
type batchConn struct {
	*net.TCPConn
	r *bufio.Reader
	w io.Writer // the socket (a test counts its writes)

	mu   sync.Mutex
	hold bool
	buf  []byte // records gathered while hold, at most batchBytes
	err  error  // the first failed write: every later one fails too
}

func newBatchConn(c *net.TCPConn) *batchConn {
	return &batchConn{TCPConn: c, r: bufio.NewReaderSize(c, batchBytes), w: c}
}

func (c *batchConn) Read(p []byte) (int, error) { return c.r.Read(p) }

func (c *batchConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		return 0, c.err
	}
	if !c.hold || len(c.buf)+len(p) > batchBytes {
		if err := c.flushLocked(); err != nil {
			return 0, err
		}
	}
	if !c.hold || len(p) >= batchBytes {
		n, err := c.w.Write(p)
		if err != nil {
			c.err = err
		}
		return n, err
	}
	if c.buf == nil {
		c.buf = (*batchBufs.Get().(*[]byte))[:0]
	}
	c.buf = append(c.buf, p...)
	return len(p), nil
}

func (c *batchConn) flushLocked() error {
	if len(c.buf) == 0 {
		return c.err
	}
	_, err := c.w.Write(c.buf)
	c.buf = c.buf[:0]
	if err != nil && c.err == nil {
		c.err = err
	}
	return c.err
}

// begin gathers what is written until release.
func (c *batchConn) begin() {
	c.mu.Lock()
	c.hold = true
	c.mu.Unlock()
}

// release writes out what was gathered and ends the gathering; the
// buffer goes back to the pool, so an idle stream holds none.
func (c *batchConn) release() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.hold = false
	err := c.flushLocked()
	if c.buf != nil {
		b := c.buf[:0]
		batchBufs.Put(&b)
		c.buf = nil
	}
	return err
}

// batchBufs are the write buffers of batchConns, lent for one message.
var batchBufs = sync.Pool{New: func() any { b := make([]byte, 0, batchBytes); return &b }}
