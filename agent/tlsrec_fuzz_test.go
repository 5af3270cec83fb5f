package agent

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"strings"
	"testing"
)

// fuzzRecLayer is a read side with a fixed secret over in, and the
// matching write side's protection to seal records into it.
func fuzzRecLayer(t testing.TB, suite uint16, in []byte) (*recLayer, *recHalf) {
	secret := bytes.Repeat([]byte{7}, 32)
	if suite == tls.TLS_AES_256_GCM_SHA384 {
		secret = bytes.Repeat([]byte{7}, 48)
	}
	rd, err := newRecHalf(suite, secret)
	if err != nil {
		t.Fatal(err)
	}
	wr, err := newRecHalf(suite, secret)
	if err != nil {
		t.Fatal(err)
	}
	bc := &batchConn{r: bufio.NewReaderSize(bytes.NewReader(in), batchBytes)}
	return &recLayer{bc: bc, rd: rd}, wr
}

// sealRecord appends a record whose inner plaintext (content, type and
// padding) is inner, as a peer would seal it.
func sealRecord(dst []byte, h *recHalf, inner []byte) []byte {
	nonce, _ := h.nonce()
	hdr := []byte{recTypeData, 3, 3, 0, 0}
	binary.BigEndian.PutUint16(hdr[3:], uint16(len(inner)+h.aead.Overhead()))
	dst = append(dst, hdr...)
	return h.aead.Seal(dst, nonce, inner, hdr)
}

// FuzzRecLayerRead: whatever arrives, recLayer's Read returns at most the
// content it was sent, in order, or an error that every later read
// returns too; it never panics nor allocates past one record's buffer.
// The first byte picks the mode: raw bytes as the stream, or records
// sealed with the right key whose inner plaintexts (content type and
// padding included) are the input's, cut at its length bytes, optionally
// with one byte of the stream flipped.
func FuzzRecLayerRead(f *testing.F) {
	f.Add([]byte{0, 23, 3, 3, 0, 17})
	f.Add([]byte{1, 5, 'h', 'e', 'l', 'l', 'o', 23, 3, 1, 0, 21})
	f.Add([]byte{1, 2, 0, 0, 0, 3, 1, 0, 0, 21})
	f.Add([]byte{2, 3, 'a', 'b', 23, 0, 40})
	f.Add([]byte{3, 4, 4, 0, 0, 0, 22, 2, 'o', 'k', 23})
	f.Fuzz(func(t *testing.T, in []byte) {
		if len(in) == 0 {
			return
		}
		mode, in := in[0]%4, in[1:]
		suite := []uint16{tls.TLS_AES_128_GCM_SHA256, tls.TLS_AES_256_GCM_SHA384, tls.TLS_CHACHA20_POLY1305_SHA256}[len(in)%3]
		stream := in
		var sent []byte // content of the well-formed data records, in order
		if mode != 0 {
			_, wr := fuzzRecLayer(t, suite, nil)
			stream = nil
			for rest := in; len(rest) > 0; {
				n := min(int(rest[0]), len(rest)-1)
				inner := rest[1 : 1+n]
				rest = rest[1+n:]
				stream = sealRecord(stream, wr, inner)
				i := len(inner) - 1
				for i >= 0 && inner[i] == 0 {
					i--
				}
				if i >= 0 && inner[i] == recTypeData {
					sent = append(sent, inner[:i]...)
				}
			}
			if mode == 3 && len(stream) > 0 {
				stream[int(in[0])%len(stream)] ^= 0x40
			}
		}
		l, _ := fuzzRecLayer(t, suite, stream)
		var got []byte
		buf := make([]byte, 1+len(in)%40000)
		var err error
		for range 1000 {
			var n int
			n, err = l.Read(buf)
			got = append(got, buf[:n]...)
			if err != nil {
				break
			}
		}
		if err == nil {
			t.Fatal("1000 reads and no end")
		}
		if n, err2 := l.Read(buf); n != 0 || err2 != err {
			t.Fatalf("a read after %v: %d, %v", err, n, err2)
		}
		if len(l.plain) > recMaxBody {
			t.Fatalf("plaintext buffer of %d bytes", len(l.plain))
		}
		if mode == 0 {
			if len(got) > len(stream) {
				t.Fatalf("%d bytes read out of %d", len(got), len(stream))
			}
			return
		}
		if !bytes.HasPrefix(sent, got) {
			t.Fatalf("read %q, not a prefix of what was sent, %q", got, sent)
		}
		if mode != 3 && errors.Is(err, errRecord) && strings.Contains(err.Error(), "authentication") {
			t.Fatalf("a record sealed with the right key failed: %v", err)
		}
	})
}
