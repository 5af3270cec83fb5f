package agent

import (
	"bytes"
	"errors"
	"io"
	"net"
	"testing"
)

type countingWriter struct {
	w      io.Writer
	writes int
	fail   error
}

func (c *countingWriter) Write(p []byte) (int, error) {
	c.writes++
	if c.fail != nil {
		return 0, c.fail
	}
	return c.w.Write(p)
}

// TestBatchConn: while a message is held, writes are gathered into writes
// of at most batchBytes and the rest reaches the socket at release; a
// write of batchBytes or more, and any write outside a message, goes
// straight through; the peer reads every byte in order; a failed write
// fails every later one.
func TestBatchConn(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	got := make(chan []byte, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			got <- nil
			return
		}
		b, _ := io.ReadAll(c)
		c.Close()
		got <- b
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	bc := newBatchConn(c.(*net.TCPConn))
	cw := &countingWriter{w: bc.w}
	bc.w = cw
	var want bytes.Buffer
	write := func(n int, fill byte) {
		t.Helper()
		p := bytes.Repeat([]byte{fill}, n)
		if k, err := bc.Write(p); k != n || err != nil {
			t.Fatalf("write %d: %d, %v", n, k, err)
		}
		want.Write(p)
	}

	write(100, 'a') // outside a message: through
	if cw.writes != 1 {
		t.Fatalf("a write outside a message made %d writes, want 1", cw.writes)
	}
	bc.begin()
	for range 64 {
		write(1000, 'b') // 64,000 bytes: gathered
	}
	if cw.writes != 1 {
		t.Fatalf("64 held writes of 1,000 bytes reached the socket in %d writes before release", cw.writes-1)
	}
	write(2000, 'c') // 66,000 > batchBytes: the gathered ones go first
	if cw.writes != 2 {
		t.Fatalf("%d writes, want 2", cw.writes)
	}
	write(batchBytes, 'd') // as large as the buffer: the 2,000 first, then itself
	if cw.writes != 4 {
		t.Fatalf("%d writes, want 4", cw.writes)
	}
	write(10, 'e')
	if err := bc.release(); err != nil {
		t.Fatal(err)
	}
	if cw.writes != 5 {
		t.Fatalf("%d writes after release, want 5", cw.writes)
	}
	c.(*net.TCPConn).CloseWrite()
	if b := <-got; !bytes.Equal(b, want.Bytes()) {
		t.Fatalf("the peer read %d bytes, want %d in order", len(b), want.Len())
	}

	boom := errors.New("boom")
	cw.fail = boom
	bc.begin()
	write(10, 'f') // held
	if err := bc.release(); !errors.Is(err, boom) {
		t.Fatalf("release: %v, want boom", err)
	}
	cw.fail = nil
	if _, err := bc.Write([]byte("g")); !errors.Is(err, boom) {
		t.Fatalf("a write after a failed one: %v, want boom", err)
	}
	c.Close()
}
