package agent

import (
	"errors"
	"io"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pdiffagent/pdiffagent/wire"
)

// closedWindow is a byte stream whose peer stopped reading: after the
// first n bytes every Write blocks until the stream is aborted. Reads
// block the same way (the peer says nothing).
type closedWindow struct {
	n       int
	wrote   int
	mu      sync.Mutex
	aborted chan struct{}
	once    sync.Once
}

var errClosedWindowAborted = errors.New("aborted")

func (c *closedWindow) Write(p []byte) (int, error) {
	c.mu.Lock()
	k := min(len(p), c.n-c.wrote)
	c.wrote += k
	c.mu.Unlock()
	if k == len(p) {
		return k, nil
	}
	<-c.aborted
	return k, errClosedWindowAborted
}

func (c *closedWindow) Read([]byte) (int, error)      { <-c.aborted; return 0, io.EOF }
func (*closedWindow) SetReadDeadline(time.Time) error { return nil }
func (*closedWindow) closeWrite() error               { return nil }
func (c *closedWindow) abort()                        { c.once.Do(func() { close(c.aborted) }) }
func (*closedWindow) release(time.Duration)           {}

// TestWatchdogBlockedSend: a Send the transport holds back (the peer's
// window closed) is waiting for the peer, as a Recv is: with no byte in
// either direction for the idle timeout the watchdog aborts the stream
// and the Send returns its verdict (a resumed QUIC server stayed blocked
// so, TestSoakStoppedPeer/quic/pull/stop-server). Bytes still going out
// were progress until the window closed: it fires only after it did.
func TestWatchdogBlockedSend(t *testing.T) {
	cw := &closedWindow{n: 200 << 10, aborted: make(chan struct{})}
	ns := newNetStream(cw, 0, "worker 0 (test)")
	const idle = 100 * time.Millisecond
	wd := startWatchdog(idle, 0, "client test", []*netStream{ns})
	defer wd.Stop()
	s := wd.wrap(ns)
	start := time.Now()
	sent := make(chan error, 1)
	go func() {
		sent <- s.Send(&wire.Data{Block: 1, Codec: wire.CodecNone, RawLen: 1 << 20, Payload: make([]byte, 1<<20)})
	}()
	var err error
	select {
	case err = <-sent:
	case <-time.After(30 * time.Second): // the watchdog never fired: without it the Send blocks for good
		cw.abort()
		t.Fatalf("the Send was still blocked %v after the window closed (idle timeout %v)", time.Since(start), idle)
	}
	var stalled *stalledError
	if !errors.As(err, &stalled) {
		t.Fatalf("Send returned %v, want the watchdog's stalled error", err)
	}
	if fired := wd.Stop(); fired == nil || !errors.As(fired, &stalled) {
		t.Errorf("the watchdog says %v, want its stalled error", fired)
	}
	if ns.lastWrite.Load() == 0 {
		t.Error("the bytes written before the window closed were not marked")
	}
	t.Logf("fired after %v: %v", time.Since(start).Round(time.Millisecond), err)
}

// TestWriteMarker: a write goes out in pieces of at most writeMarkStep,
// each marking the time.
func TestWriteMarker(t *testing.T) {
	var sizes []int
	rec := writerFunc(func(p []byte) (int, error) { sizes = append(sizes, len(p)); return len(p), nil })
	var last atomic.Int64
	n, err := writeMarker{rec, &last}.Write(make([]byte, 2*writeMarkStep+5))
	if err != nil || n != 2*writeMarkStep+5 {
		t.Fatalf("wrote %d, %v", n, err)
	}
	if len(sizes) != 3 || sizes[0] != writeMarkStep || sizes[1] != writeMarkStep || sizes[2] != 5 || last.Load() == 0 {
		t.Errorf("pieces %v, last %d", sizes, last.Load())
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }
