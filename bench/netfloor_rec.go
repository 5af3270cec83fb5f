package bench

import (
	"crypto/cipher"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"

	"github.com/pdiffagent/pdiffagent/agent/vaesgcm"
)

// The "rec" floor: TLS 1.3's records over plain TCP, sealed and opened
// with the AES-GCM the agents' TCP transport uses on this machine
// (vaesgcm.Best: agent/vaesgcm where the CPU has VAES with AVX-512,
// crypto/aes's elsewhere), in 1 MiB writes and reads as the "tls" floor's.
// The "tls" floor is crypto/tls, whose AES-GCM is a block at a time; where
// the agents' is faster, this is their transport's own limit. No
// handshake: the sender sends a fresh key first, in the clear. It measures
// throughput, not security.

const (
	recPlain = 16384 // a record's plaintext at most (RFC 8446 5.1)
	recHead  = 5
	recTag   = 16
	recKey   = 16 // AES-128, TLS_AES_128_GCM_SHA256's
)

// recConn reads and writes a connection's bytes as records: what it
// writes, sealed in records of up to recPlain bytes plus the content type,
// a batch a Write; what it reads, opened straight into the caller's buffer
// when a record fits there (as the agents' record layer does).
type recConn struct {
	c          net.Conn
	aead       cipher.AEAD
	wdir, rdir byte // the nonce's first byte for each direction
	wseq, rseq uint64
	batch      []byte
	in         []byte // read, not yet opened: in[off:have]
	off, have  int
	plain      []byte // opened, not yet returned
	n          [12]byte
}

// newRecConn starts the record floor on c: the sender sends the key.
func newRecConn(c net.Conn, sender bool) (*recConn, error) {
	key := make([]byte, recKey)
	var err error
	if sender {
		if _, err = rand.Read(key); err == nil {
			_, err = c.Write(key)
		}
	} else {
		_, err = io.ReadFull(c, key)
	}
	if err != nil {
		return nil, err
	}
	a, err := vaesgcm.Best(key)
	if err != nil {
		return nil, err
	}
	r := &recConn{c: c, aead: a, wdir: 0, rdir: 1, in: make([]byte, netChunk+2*(recPlain+256))}
	if !sender {
		r.wdir, r.rdir = 1, 0
	}
	return r, nil
}

// nonce is the next nonce of a direction, in r's own buffer (one per
// record: it would be an allocation each on the heap).
func (r *recConn) nonce(dir byte, seq uint64) []byte {
	r.n[0] = dir
	binary.BigEndian.PutUint64(r.n[4:], seq)
	return r.n[:]
}

// Write seals p into records, a batch, and writes the batch.
func (r *recConn) Write(p []byte) (int, error) {
	b := r.batch[:0]
	for off := 0; off < len(p); off += recPlain {
		chunk := p[off:min(off+recPlain, len(p))]
		b = append(b, 23, 3, 3, 0, 0)
		h := b[len(b)-recHead:]
		binary.BigEndian.PutUint16(h[3:], uint16(len(chunk)+1+recTag))
		// As the agents' record layer: the content type follows the data,
		// so the data is copied in and sealed in place.
		pt := append(append(b[len(b):], chunk...), 23)
		b = r.aead.Seal(b, r.nonce(r.wdir, r.wseq), pt, h)
		r.wseq++
	}
	r.batch = b
	if _, err := r.c.Write(b); err != nil {
		return 0, err
	}
	return len(p), nil
}

// Read opens records into p, as many as fit whole, or returns what is
// left of one opened before.
func (r *recConn) Read(p []byte) (int, error) {
	if len(r.plain) > 0 {
		n := copy(p, r.plain)
		r.plain = r.plain[n:]
		return n, nil
	}
	n := 0
	for {
		rec, err := r.record()
		if err != nil {
			if n > 0 && errors.Is(err, io.EOF) {
				return n, nil
			}
			return n, err
		}
		if rec == nil { // nothing whole buffered
			if n > 0 {
				return n, nil
			}
			if err := r.fill(); err != nil {
				return 0, err
			}
			continue
		}
		body := rec[recHead:]
		room := len(body) - recTag
		dst := p[n:]
		short := len(dst) < room
		if short {
			if n > 0 { // leave it for the next Read
				r.off -= len(rec)
				return n, nil
			}
			dst = make([]byte, room)
		}
		out, err := r.aead.Open(dst[:0], r.nonce(r.rdir, r.rseq), body, rec[:recHead])
		if err != nil {
			return n, fmt.Errorf("record floor: %w", err)
		}
		r.rseq++
		out = out[:len(out)-1] // the content type
		if short {
			k := copy(p, out)
			r.plain = out[k:]
			return k, nil
		}
		n += len(out)
	}
}

// record returns the next whole record buffered and consumes it, or nil.
func (r *recConn) record() ([]byte, error) {
	if r.have-r.off < recHead {
		return nil, nil
	}
	l := int(binary.BigEndian.Uint16(r.in[r.off+3:]))
	if l < recTag+1 || l > recPlain+256 {
		return nil, fmt.Errorf("record floor: a record of %d bytes", l)
	}
	if r.have-r.off < recHead+l {
		return nil, nil
	}
	rec := r.in[r.off : r.off+recHead+l]
	r.off += recHead + l
	return rec, nil
}

// fill reads more of the connection, after what is buffered.
func (r *recConn) fill() error {
	if r.off > 0 {
		r.have = copy(r.in, r.in[r.off:r.have])
		r.off = 0
	}
	k, err := r.c.Read(r.in[r.have:])
	r.have += k
	if k > 0 {
		return nil
	}
	if errors.Is(err, io.EOF) && r.have > 0 {
		return io.ErrUnexpectedEOF
	}
	return err
}

// recDetail names the rec floor's AEAD.
func recDetail() string {
	if vaesgcm.Available() {
		return "TLS 1.3's records, AES-128-GCM by agent/vaesgcm as the agents seal them"
	}
	return "TLS 1.3's records, AES-128-GCM by crypto/aes as the agents seal them"
}
