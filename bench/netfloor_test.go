package bench

import (
	"bytes"
	"context"
	"crypto/tls"
	"io"
	"math/rand/v2"
	"net"
	"testing"
	"time"
)

// TestNetFloors measures every floor, in this process and through
// ServeFloor and SendFloor as two processes would, with several
// connections and streams.
func TestNetFloors(t *testing.T) {
	ctx := context.Background()
	const total = 3<<20 + 7 // not a multiple of the chunk or the shares
	for _, tc := range []struct {
		kind           string
		conns, streams int
	}{{"tcp", 3, 3}, {"tls", 2, 2}, {"rec", 2, 2}, {"quic", 1, 3}, {"quic", 2, 3}} {
		var f NetFloor
		var err error
		switch tc.kind {
		case "tcp":
			f, err = MeasureTCP(ctx, tc.conns, total, nil)
		case "tls":
			f, err = MeasureTCP(ctx, tc.conns, total, &tls.Config{})
		case "rec":
			f, err = measureHere(ctx, "rec", nil, tc.conns, tc.conns, total)
		default:
			f, err = MeasureQUIC(ctx, tc.conns, tc.streams, total)
		}
		if err != nil || f.Kind != tc.kind || f.Bytes != total || f.Seconds <= 0 || f.Connections != tc.conns || f.Processes != 1 {
			t.Errorf("%s in one process: %+v, %v", tc.kind, f, err)
		}

		sctx, stop := context.WithCancel(ctx)
		ready := make(chan string, 1)
		served := make(chan error, 1)
		go func() { served <- ServeFloor(sctx, tc.kind, func(a string) { ready <- a }) }()
		addr := <-ready
		for range 2 { // a server serves one floor after another
			f, err = SendFloor(ctx, tc.kind, addr, tc.conns, tc.streams, total)
			if err != nil || f.Bytes != total || f.Seconds <= 0 {
				t.Errorf("%s apart: %+v, %v", tc.kind, f, err)
			}
		}
		stop()
		select {
		case err := <-served:
			if err != nil {
				t.Errorf("%s: ServeFloor: %v", tc.kind, err)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("%s: ServeFloor did not end with its context", tc.kind)
		}
	}
}

// TestNetFloorErrors: an unknown kind and a receiver that is not there are
// errors, not hangs.
func TestNetFloorErrors(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := ServeFloor(ctx, "udp", func(string) { t.Error("ready for an unknown kind") }); err == nil {
		t.Error("ServeFloor of an unknown kind succeeded")
	}
	if _, err := SendFloor(ctx, "udp", "127.0.0.1:1", 1, 1, 1); err == nil {
		t.Error("SendFloor of an unknown kind succeeded")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	if _, err := SendFloor(ctx, "tls", addr, 2, 2, 1<<20); err == nil {
		t.Error("SendFloor to a closed port succeeded")
	}
	qctx, qcancel := context.WithTimeout(ctx, 3*time.Second)
	defer qcancel()
	if _, err := SendFloor(qctx, "quic", addr, 1, 1, 1<<20); err == nil {
		t.Error("quic SendFloor to nobody succeeded")
	}
}

// TestRecConn: the record floor's records carry the bytes unchanged, of
// every size around a record's, into buffers short and long; a record
// changed on the way is an error.
func TestRecConn(t *testing.T) {
	a, b := net.Pipe()
	sizes := []int{1, recPlain - 1, recPlain, recPlain + 1, 3*recPlain + 5, netChunk, netChunk + 3}
	var want bytes.Buffer
	r := rand.New(rand.NewPCG(5, 6))
	for _, n := range sizes {
		m := make([]byte, n)
		for i := range m {
			m[i] = byte(r.Uint32())
		}
		want.Write(m)
	}
	errs := make(chan error, 1)
	go func() {
		errs <- func() error {
			defer a.Close()
			w, err := newRecConn(a, true)
			if err != nil {
				return err
			}
			msgs := want.Bytes()
			for _, n := range sizes {
				if _, err := w.Write(msgs[:n]); err != nil {
					return err
				}
				msgs = msgs[n:]
			}
			return nil
		}()
	}()
	rc, err := newRecConn(b, false)
	if err != nil {
		t.Fatal(err)
	}
	var got bytes.Buffer
	buf := make([]byte, netChunk)
	for i := 0; ; i++ {
		n := len(buf)
		if i%2 == 1 {
			n = 1000
		}
		k, err := rc.Read(buf[:n])
		got.Write(buf[:k])
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := <-errs; err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Bytes(), want.Bytes()) {
		t.Fatalf("read %d bytes, want %d identical", got.Len(), want.Len())
	}

	// A flipped bit in a record's body.
	a, b = net.Pipe()
	go func() {
		defer a.Close()
		if w, err := newRecConn(&flipConn{Conn: a}, true); err == nil {
			w.Write([]byte("hello"))
		}
	}()
	rc, err = newRecConn(b, false)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := rc.Read(make([]byte, 100)); err == nil || err == io.EOF {
		t.Fatalf("a changed record read as %v", err)
	}
	b.Close()
}

// flipConn flips a bit in the body of the first record written after the
// key.
type flipConn struct {
	net.Conn
	n int
}

func (f *flipConn) Write(p []byte) (int, error) {
	if f.n++; f.n == 2 {
		p = append([]byte(nil), p...)
		p[recHead+1] ^= 1
	}
	return f.Conn.Write(p)
}
