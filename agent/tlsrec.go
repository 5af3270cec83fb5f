package agent

import (
	"bytes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/tls"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"net"
	"os"
	"sync"

	"github.com/pdiffagent/pdiffagent/agent/vaesgcm"
	"golang.org/x/crypto/chacha20poly1305"
)

// A TCP stream's records after the handshake (doc.go, "TLS records").
// crypto/tls does the handshake; then recLayer protects and opens the
// connection's TLS 1.3 records itself, with the traffic keys the handshake
// derived (RFC 8446 5.2-5.3, 7.3): the same records on the wire, so a peer
// that keeps crypto/tls reads and writes them as its own. It saves copies:
// crypto/tls copies what it writes into its record buffer, which batchConn
// copies again into the batch it writes, and reads records into a buffer
// of its own (a copy out of batchConn's) to copy the plaintext out again;
// recLayer seals a message's bytes into the batch itself and opens a
// record from the read buffer straight into the caller's (a block's)
// buffer when it fits.

const (
	recHeader   = 5
	recMaxPlain = 16384                    // RFC 8446 5.1
	recMaxBody  = recMaxPlain + 256        // RFC 8446 5.2: TLSCiphertext.length
	recSealed   = recHeader + 1 + 16       // what a record adds to its plaintext (type, tag)
	recTypeData = 23                       // application_data
	recTypeAlrt = 21                       // alert
	recTypeHand = 22                       // handshake
	recBatchCap = batchBytes + 4*recSealed // four whole records to a batch
	bigBatchCap = bigBatchBytes + 64*recSealed
)

// bigBatchBytes is what recLayer gathers of a message with a large payload
// (a block) before a write. A fully replaced 1 GiB push over TCP (2
// workers, 6 interleaved runs of three, 2-core VM): 1.38 s and 2.32 CPU-s
// of both ends in writes of 64 KiB, 1.31 s and 2.12 in writes of 256 KiB,
// 1.24 s and 2.02 in writes of 1 MiB; the read buffer's size (64 KiB, 256
// KiB, 1 MiB) made no difference. Only a stream sending blocks holds one,
// while it writes a message.
const bigBatchBytes = 1 << 20

// tlsRecordsOff turns recLayer off (crypto/tls then reads and writes the
// records): PDIFFAGENT_TLS_RECORDS=go. For comparison and troubleshooting.
var tlsRecordsOff = os.Getenv("PDIFFAGENT_TLS_RECORDS") == "go"

// keyLog takes the traffic secrets crypto/tls reports to a connection's
// own Config.KeyLogWriter. They stay in memory, are used once and cleared.
type keyLog struct {
	mu             sync.Mutex
	client, server []byte
}

func (k *keyLog) Write(p []byte) (int, error) {
	f := bytes.Fields(p)
	if len(f) != 3 {
		return len(p), nil
	}
	s, err := hex.DecodeString(string(f[2]))
	if err != nil {
		return len(p), nil
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	switch string(f[0]) {
	case "CLIENT_TRAFFIC_SECRET_0":
		k.client = s
	case "SERVER_TRAFFIC_SECRET_0":
		k.server = s
	}
	return len(p), nil
}

// take returns the secrets, ours to write with first, and forgets them.
func (k *keyLog) take(client bool) (wr, rd []byte) {
	k.mu.Lock()
	defer k.mu.Unlock()
	wr, rd = k.server, k.client
	if client {
		wr, rd = rd, wr
	}
	k.client, k.server = nil, nil
	return wr, rd
}

// recHalf is one direction's record protection.
type recHalf struct {
	aead cipher.AEAD
	iv   [12]byte
	seq  uint64
	n    [12]byte // the record's nonce: here, not on the heap once per record
}

// newRecHalf derives a direction's key and IV from its traffic secret
// (RFC 8446 7.3) for the connection's cipher suite.
func newRecHalf(suite uint16, secret []byte) (*recHalf, error) {
	var h func() hash.Hash
	keyLen := 16
	switch suite {
	case tls.TLS_AES_128_GCM_SHA256:
		h = sha256.New
	case tls.TLS_AES_256_GCM_SHA384:
		h, keyLen = sha512.New384, 32
	case tls.TLS_CHACHA20_POLY1305_SHA256:
		h, keyLen = sha256.New, 32
	default:
		return nil, fmt.Errorf("cipher suite %#04x", suite)
	}
	if len(secret) != h().Size() {
		return nil, errors.New("no traffic secret")
	}
	key, err := expandLabel(h, secret, "key", keyLen)
	if err != nil {
		return nil, err
	}
	iv, err := expandLabel(h, secret, "iv", 12)
	if err != nil {
		return nil, err
	}
	var aead cipher.AEAD
	if suite == tls.TLS_CHACHA20_POLY1305_SHA256 {
		aead, err = chacha20poly1305.New(key)
	} else {
		aead, err = vaesgcm.Best(key) // agent/vaesgcm where the CPU has VAES
	}
	if err != nil {
		return nil, err
	}
	r := &recHalf{aead: aead}
	copy(r.iv[:], iv)
	clear(key)
	return r, nil
}

// expandLabel is HKDF-Expand-Label with an empty context (RFC 8446 7.1).
func expandLabel(h func() hash.Hash, secret []byte, label string, n int) ([]byte, error) {
	label = "tls13 " + label
	info := make([]byte, 0, 4+len(label))
	info = binary.BigEndian.AppendUint16(info, uint16(n))
	info = append(info, byte(len(label)))
	info = append(info, label...)
	info = append(info, 0)
	return hkdf.Expand(h, secret, string(info), n)
}

// nonce is the IV XORed with the record's sequence number, in r.n; the
// number then moves on. A sequence number is never used twice: at its end
// the connection fails (RFC 8446 5.5 asks for a key update long before).
func (r *recHalf) nonce() ([]byte, error) {
	if r.seq == ^uint64(0) {
		return nil, errors.New("agent: TLS record sequence number exhausted")
	}
	n := &r.n
	*n = r.iv
	for i := range 8 {
		n[4+i] ^= byte(r.seq >> (56 - 8*i))
	}
	r.seq++
	return n[:], nil
}

// recLayer reads and writes a TCP stream's TLS 1.3 records once crypto/tls
// has done the handshake: writes through the batchConn's batch, reads from
// its read buffer. Read is called by one goroutine at a time (the stream's
// reader); writes are serialized by the batchConn's lock.
type recLayer struct {
	bc *batchConn
	wr *recHalf // under bc.mu

	rd      *recHalf
	plain   []byte // a record opened here, when the caller's buffer was short
	pending []byte // what of plain the caller has not taken
	rerr    error  // sticky: a broken or ended read side
}

// newRecLayer takes over tc's records after its handshake, or fails (the
// caller then keeps tc): not TLS 1.3, a cipher suite not known here, or
// secrets not reported. bc's reads were framed (batchConn.framed) so that
// crypto/tls has read nothing past the handshake.
func newRecLayer(tc *tls.Conn, bc *batchConn, client bool) (*recLayer, error) {
	bc.unframe()
	wrS, rdS := bc.keys.take(client)
	defer clear(wrS)
	defer clear(rdS)
	if tlsRecordsOff {
		return nil, errors.New("off")
	}
	cs := tc.ConnectionState()
	if cs.Version != tls.VersionTLS13 {
		return nil, errors.New("not TLS 1.3")
	}
	wr, err := newRecHalf(cs.CipherSuite, wrS)
	if err != nil {
		return nil, err
	}
	rd, err := newRecHalf(cs.CipherSuite, rdS)
	if err != nil {
		return nil, err
	}
	return &recLayer{bc: bc, wr: wr, rd: rd}, nil
}

// Write seals p into records of at most recMaxPlain bytes, gathered in the
// batchConn's batch (written out when full, and at its release; at once
// outside a message).
func (l *recLayer) Write(p []byte) (int, error) {
	return l.writeRecords(recTypeData, p)
}

// writeRecords writes nothing for an empty p, as crypto/tls: a peer with
// crypto/tls's records fails a stream after 16 empty records in a row.
func (l *recLayer) writeRecords(typ byte, p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	c := l.bc
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		return 0, c.err
	}
	if big := len(p) >= batchBytes; c.buf == nil || big && cap(c.buf) < bigBatchCap {
		// what the small batch holds (a frame's header) moves along
		held := c.buf
		c.buf = nil
		if big {
			c.buf = append(getBigBatch(), held...)
		} else {
			c.buf = (*batchBufs.Get().(*[]byte))[:0]
		}
		if held != nil {
			held = held[:0]
			batchBufs.Put(&held)
		}
	}
	n := 0
	for len(p) > 0 {
		k := min(len(p), recMaxPlain)
		size := recSealed + k
		if cap(c.buf)-len(c.buf) < size {
			if err := c.flushLocked(); err != nil {
				return n, err
			}
		}
		nonce, err := l.wr.nonce()
		if err != nil {
			c.err = err
			return n, err
		}
		rec := c.buf[len(c.buf) : len(c.buf)+size]
		rec[0], rec[1], rec[2] = recTypeData, 3, 3
		binary.BigEndian.PutUint16(rec[3:], uint16(size-recHeader))
		copy(rec[recHeader:], p[:k])
		rec[recHeader+k] = typ
		l.wr.aead.Seal(rec[recHeader:recHeader], nonce, rec[recHeader:recHeader+k+1], rec[:recHeader])
		c.buf = c.buf[:len(c.buf)+size]
		p, n = p[k:], n+k
	}
	if !c.hold {
		err := c.flushLocked()
		c.putBuf()
		return n, err
	}
	return n, nil
}

// closeNotify sends the close_notify alert.
func (l *recLayer) closeNotify() error {
	_, err := l.writeRecords(recTypeAlrt, []byte{1, 0})
	return err
}

var errRecord = errors.New("agent: bad TLS record")

// Read returns the plaintext of the next records: opened straight into p
// when p holds a whole record's, else through a buffer of its own.
func (l *recLayer) Read(p []byte) (int, error) {
	if len(l.pending) > 0 {
		n := copy(p, l.pending)
		l.pending = l.pending[n:]
		return n, nil
	}
	if l.rerr != nil {
		return 0, l.rerr
	}
	if len(p) == 0 {
		return 0, nil
	}
	r := l.bc.r
	for {
		hdr, err := r.Peek(recHeader)
		if err != nil {
			return 0, l.readErr(err)
		}
		body := int(binary.BigEndian.Uint16(hdr[3:]))
		if hdr[0] != recTypeData || hdr[1] != 3 || hdr[2] != 3 || body > recMaxBody || body < 1+l.rd.aead.Overhead() {
			l.rerr = fmt.Errorf("%w: header % x", errRecord, hdr)
			return 0, l.rerr
		}
		rec, err := r.Peek(recHeader + body)
		if err != nil {
			return 0, l.readErr(err)
		}
		nonce, err := l.rd.nonce()
		if err != nil {
			l.rerr = err
			return 0, err
		}
		dst := p
		if len(dst) < body-l.rd.aead.Overhead() {
			if l.plain == nil {
				l.plain = make([]byte, recMaxBody)
			}
			dst = l.plain
		}
		out, err := l.rd.aead.Open(dst[:0], nonce, rec[recHeader:], rec[:recHeader])
		r.Discard(recHeader + body)
		if err != nil {
			l.rerr = fmt.Errorf("%w: authentication failed", errRecord)
			return 0, l.rerr
		}
		i := len(out) - 1
		for i >= 0 && out[i] == 0 {
			i--
		}
		if i < 0 {
			l.rerr = fmt.Errorf("%w: no content type", errRecord)
			return 0, l.rerr
		}
		typ, data := out[i], out[:i]
		switch {
		case typ == recTypeData && len(data) == 0:
			continue
		case typ == recTypeData && &dst[0] == &p[0]:
			return len(data), nil
		case typ == recTypeData:
			n := copy(p, data)
			l.pending = data[n:]
			return n, nil
		case typ == recTypeAlrt && len(data) == 2 && data[1] == 0:
			l.rerr = io.EOF // close_notify
		case typ == recTypeAlrt && len(data) == 2:
			// as crypto/tls reports it: "remote error: tls: bad certificate"
			l.rerr = &net.OpError{Op: "remote error", Err: tls.AlertError(data[1])}
		case typ == recTypeHand && len(data) >= 4 && data[0] == 4:
			continue // NewSessionTicket: nothing resumes here
		default:
			l.rerr = fmt.Errorf("%w: content type %d after the handshake", errRecord, typ)
		}
		return 0, l.rerr
	}
}

// readErr keeps a failed read's error for every later read, but for a
// timeout (a deadline), which leaves what was read buffered.
func (l *recLayer) readErr(err error) error {
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		return err
	}
	if err == io.EOF && l.bc.r.Buffered() > 0 {
		err = io.ErrUnexpectedEOF // the connection ended inside a record
	}
	l.rerr = err
	return err
}
