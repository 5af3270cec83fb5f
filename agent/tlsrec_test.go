package agent

import (
	"bytes"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"testing"
	"time"

	"github.com/pdiffagent/pdiffagent/agent/vaesgcm"
)

// recPair handshakes a client and a server TLS connection on loopback as
// dialTCP and handleTCP do, each end taking over its records (recLayer)
// or keeping crypto/tls's.
func recPair(t *testing.T, cliRec, srvRec bool) (cli, srv *tcpStream) {
	return recPairWith(t, cliRec, srvRec, nil)
}

// recPairEarly is recPair, both ends with recLayer, whose client writes
// first before the server has finished its handshake.
func recPairEarly(t *testing.T, first []byte) (cli, srv *tcpStream) {
	return recPairWith(t, true, true, first)
}

func recPairWith(t *testing.T, cliRec, srvRec bool, first []byte) (cli, srv *tcpStream) {
	t.Helper()
	cid, err := NewIdentity()
	if err != nil {
		t.Fatal(err)
	}
	sid, err := NewIdentity()
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	allow := allowList{cid.Fingerprint(): false}
	sconf := serverTLSConfig(sid, func() allowList { return allow }, slog.New(slog.DiscardHandler), newLogLimiter())
	type res struct {
		s   *tcpStream
		err error
	}
	done := make(chan res, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			done <- res{err: err}
			return
		}
		raw := c.(*net.TCPConn)
		bc := newBatchConn(raw)
		tc := tls.Server(bc, sconf)
		if err := tc.Handshake(); err != nil {
			done <- res{err: err}
			return
		}
		done <- res{s: newTestStream(tc, raw, bc, false, srvRec)}
	}()
	raw, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	bc := newBatchConn(raw.(*net.TCPConn))
	conf := clientTLSConfig(cid, sid.Fingerprint(), nil)
	conf.KeyLogWriter = &bc.keys
	tc := tls.Client(bc, conf)
	if err := tc.Handshake(); err != nil {
		t.Fatal(err)
	}
	cli = newTestStream(tc, raw.(*net.TCPConn), bc, true, cliRec)
	if first != nil {
		if _, err := cli.Write(first); err != nil {
			t.Fatal(err)
		}
	}
	r := <-done
	if r.err != nil {
		t.Fatal(r.err)
	}
	t.Cleanup(func() { cli.raw.Close(); r.s.raw.Close() })
	return cli, r.s
}

func newTestStream(tc *tls.Conn, raw *net.TCPConn, bc *batchConn, client, rec bool) *tcpStream {
	if !rec {
		bc.unframe()
		return &tcpStream{tc: tc, raw: raw, bc: bc, rw: tc}
	}
	s := newTCPStream(tc, raw, bc, client)
	if s.rec == nil {
		panic("recLayer refused the connection")
	}
	return s
}

// TestRecLayerInterop: recLayer's records are TLS 1.3's: crypto/tls on
// the other end reads and writes them, whichever end has it, both ways
// at once, with messages held in batches and not, of every size around
// a record's; the plaintext goes straight into a buffer large enough and
// through its own buffer into a short one; close_notify ends the reads
// with io.EOF.
func TestRecLayerInterop(t *testing.T) {
	for _, c := range []struct {
		name     string
		cli, srv bool
	}{{"both", true, true}, {"client", true, false}, {"server", false, true}} {
		t.Run(c.name, func(t *testing.T) {
			cli, srv := recPair(t, c.cli, c.srv)
			sizes := []int{0, 1, 100, recMaxPlain - 1, recMaxPlain, recMaxPlain + 1, 3*recMaxPlain + 7, batchBytes, 1 << 20, 1<<20 + 3}
			var msgs [][]byte
			rng := rand.New(rand.NewPCG(1, 2))
			for _, n := range sizes {
				b := make([]byte, n)
				for i := range b {
					b[i] = byte(rng.Uint32())
				}
				msgs = append(msgs, b)
			}
			var want bytes.Buffer
			for _, m := range msgs {
				want.Write(m)
			}
			send := func(s *tcpStream) error {
				for i, m := range msgs {
					if i%2 == 0 {
						s.beginBatch()
					}
					if _, err := s.Write(m); err != nil {
						return err
					}
					if i%2 == 0 {
						if err := s.endBatch(); err != nil {
							return err
						}
					}
				}
				return s.closeNotify()
			}
			recv := func(s *tcpStream, short bool) ([]byte, error) {
				var got bytes.Buffer
				buf := make([]byte, 1<<20)
				if short {
					buf = buf[:1000]
				}
				for {
					n, err := s.Read(buf)
					got.Write(buf[:n])
					if errors.Is(err, io.EOF) {
						return got.Bytes(), nil
					}
					if err != nil {
						return got.Bytes(), err
					}
				}
			}
			errs := make(chan error, 2)
			go func() { errs <- send(cli) }()
			go func() { errs <- send(srv) }()
			type got struct {
				b   []byte
				err error
			}
			gs := make(chan got, 1)
			go func() { b, err := recv(cli, true); gs <- got{b, err} }()
			b, err := recv(srv, false)
			if err != nil || !bytes.Equal(b, want.Bytes()) {
				t.Fatalf("server read %d bytes (%v), want %d identical", len(b), err, want.Len())
			}
			g := <-gs
			if g.err != nil || !bytes.Equal(g.b, want.Bytes()) {
				t.Fatalf("client read %d bytes (%v), want %d identical", len(g.b), g.err, want.Len())
			}
			for range 2 {
				if err := <-errs; err != nil {
					t.Fatal(err)
				}
			}
		})
	}
}

// TestRecLayerEarlyData: a client that writes the moment its handshake
// ends finds its first record read by the server's recLayer, not taken
// into crypto/tls's buffer with the client's Finished (batchConn frames
// the handshake's reads at record boundaries). Without the framing, and
// with a framing that mis-added a record's length, the server's records
// started one record late: its first read failed or never returned.
func TestRecLayerEarlyData(t *testing.T) {
	for i := range 20 {
		cli, srv := recPairEarly(t, []byte("hello"))
		deadline := time.Now().Add(20 * time.Second) // a failure shows as a stall
		srv.SetReadDeadline(deadline)
		cli.SetReadDeadline(deadline)
		b := make([]byte, 5)
		if _, err := io.ReadFull(srv, b); err != nil || string(b) != "hello" {
			t.Fatalf("run %d: the server read %q, %v", i, b, err)
		}
		if _, err := srv.Write([]byte("world")); err != nil {
			t.Fatal(err)
		}
		if _, err := io.ReadFull(cli, b); err != nil || string(b) != "world" {
			t.Fatalf("run %d: the client read %q, %v", i, b, err)
		}
	}
}

// TestRecLayerBigBatch: an empty write writes nothing; a message with a
// block's payload, held in a batch, reaches the socket in writes of about
// bigBatchBytes (a 20-byte header and 1 MiB of payload: two writes, where
// batches of batchBytes took seventeen), and arrives whole.
func TestRecLayerBigBatch(t *testing.T) {
	cli, srv := recPair(t, true, true)
	cw := &countingWriter{w: cli.bc.w}
	cli.bc.w = cw
	hdr := bytes.Repeat([]byte{'h'}, 20)
	payload := make([]byte, 1<<20)
	for i := range payload {
		payload[i] = byte(i * 7)
	}
	got := make(chan []byte, 1)
	go func() {
		b := make([]byte, len(hdr)+len(payload))
		n, _ := io.ReadFull(srv, b)
		got <- b[:n]
	}()
	for range 20 { // no empty records: crypto/tls would fail after 16
		if n, err := cli.Write(nil); n != 0 || err != nil || cw.writes != 0 {
			t.Fatalf("an empty write: %d, %v, %d socket writes", n, err, cw.writes)
		}
	}
	cli.beginBatch()
	if _, err := cli.Write(hdr); err != nil {
		t.Fatal(err)
	}
	if _, err := cli.Write(payload); err != nil {
		t.Fatal(err)
	}
	if err := cli.endBatch(); err != nil {
		t.Fatal(err)
	}
	if cw.writes > 2 {
		t.Fatalf("a 1 MiB message reached the socket in %d writes, want at most 2", cw.writes)
	}
	if b := <-got; !bytes.Equal(b, append(hdr, payload...)) {
		t.Fatalf("the server read %d bytes, not the message", len(b))
	}
}

// TestRecHalfAEAD: the AES-GCM suites seal with vaesgcm where the CPU has
// it and with crypto/cipher otherwise; ChaCha20-Poly1305 is x/crypto's.
func TestRecHalfAEAD(t *testing.T) {
	for _, c := range []struct {
		suite  uint16
		secret int
		want   string
	}{
		{tls.TLS_AES_128_GCM_SHA256, 32, "*vaesgcm.gcm"},
		{tls.TLS_AES_256_GCM_SHA384, 48, "*vaesgcm.gcm"},
		{tls.TLS_CHACHA20_POLY1305_SHA256, 32, "chacha20poly1305"},
	} {
		h, err := newRecHalf(c.suite, bytes.Repeat([]byte{7}, c.secret))
		if err != nil {
			t.Fatal(err)
		}
		got := fmt.Sprintf("%T", h.aead)
		want := c.want
		if want == "*vaesgcm.gcm" && !vaesgcm.Available() {
			want = "*gcm.GCM" // crypto/cipher's
		}
		if !bytes.Contains([]byte(got), []byte(want)) {
			t.Errorf("%s: AEAD %s, want %s's", tls.CipherSuiteName(c.suite), got, want)
		}
	}
}
