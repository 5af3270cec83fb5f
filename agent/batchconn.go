package agent

import (
	"bufio"
	"encoding/binary"
	"io"
	"net"
	"sync"

	"github.com/pdiffagent/pdiffagent/sysio"
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
// close_notify) go straight through. recLayer (tlsrec.go), which writes the
// records once the handshake is done, seals them into the same batch, a
// larger one (bigBatchBytes) for a message with a block's payload.
//
// Until unframe, reads end at TLS record boundaries, so that crypto/tls
// takes nothing past the handshake from the read buffer: recLayer reads
// on from there. keys is the connection's Config.KeyLogWriter.
type batchConn struct {
	*net.TCPConn
	r *bufio.Reader
	w io.Writer // the socket (a test counts its writes)

	framed bool // reads stop at record boundaries (the handshake)
	left   int  // bytes of the current record not yet read, while framed
	keys   keyLog

	mu   sync.Mutex
	hold bool
	buf  []byte // records gathered while hold, at most batchBytes
	err  error  // the first failed write: every later one fails too
}

func newBatchConn(c *net.TCPConn) *batchConn {
	return &batchConn{TCPConn: c, r: bufio.NewReaderSize(c, batchBytes), w: c, framed: true}
}

func (c *batchConn) Read(p []byte) (int, error) {
	if !c.framed {
		return c.r.Read(p)
	}
	if c.left == 0 {
		hdr, err := c.r.Peek(recHeader)
		if err != nil {
			if len(hdr) == 0 {
				return 0, err
			}
			return c.r.Read(p) // a short last record: crypto/tls reports it
		}
		c.left = recHeader + int(binary.BigEndian.Uint16(hdr[3:]))
	}
	n, err := c.r.Read(p[:min(len(p), c.left)])
	c.left -= n
	return n, err
}

// unframe ends the record-bounded reads of the handshake.
func (c *batchConn) unframe() { c.framed = false }

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
	c.putBuf()
	return err
}

// putBuf gives the batch buffer back to its pool.
func (c *batchConn) putBuf() {
	if c.buf != nil {
		b := c.buf[:0]
		if cap(b) >= bigBatchCap {
			putBigBatch(b)
		} else {
			batchBufs.Put(&b)
		}
		c.buf = nil
	}
}

// batchBufs are the write buffers of batchConns, lent for one message.
// recLayer fills them with up to four whole records; a message with a
// payload of batchBytes or more (a block) takes one of bigBatchBufs,
// which hold 64 records (tlsrec.go: bigBatchBytes).
var batchBufs = sync.Pool{New: func() any { b := make([]byte, 0, recBatchCap); return &b }}

// bigBatchBufs is a free list, not a sync.Pool, whose buffers a garbage
// collection would drop, to be allocated again: fresh memory, which this
// VM's first touch makes dear (about 2-3 ms of CPU per MiB). Its buffers
// come from sysio's slabs of huge pages. Only a stream sending a block
// holds one, while it writes the message, so a few suffice; a buffer
// returned to a full list is left to the collector.
var bigBatchBufs = make(chan []byte, 8)

func getBigBatch() []byte {
	select {
	case b := <-bigBatchBufs:
		return b[:0]
	default:
		return sysio.AlignedBuffer(bigBatchCap)[:0]
	}
}

func putBigBatch(b []byte) {
	select {
	case bigBatchBufs <- b[:0]:
	default:
	}
}
