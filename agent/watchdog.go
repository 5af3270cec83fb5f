package agent

import (
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pdiffagent/pdiffagent/engine"
	"github.com/pdiffagent/pdiffagent/wire"
)

// A peer can vanish in three ways, and each is caught by something else:
//
//   - Its process dies (kill -9, a crash): its kernel closes the
//     connections, and the next read fails at once (TCP: FIN or RST). Over
//     QUIC nothing is sent: the idle timeout (below) notices.
//   - Its host or the network goes away: nothing answers any more. TCP:
//     TCP_USER_TIMEOUT fails a connection whose data stays unacknowledged
//     for the idle timeout, keepalive probes one that is quiet (within
//     about half of it). QUIC: the idle timeout, with keepalives every
//     quarter of it.
//   - Its process stops (SIGSTOP, a hung disk, a debugger) while its
//     kernel lives on: TCP keeps acknowledging and keepalives are answered.
//     If we are sending, its window closes and (recent Linux) the
//     TCP_USER_TIMEOUT ends the connection after the idle timeout; if we
//     are waiting for it to say something, nothing at the TCP level ever
//     times out. Only the application can tell: the session watchdog
//     below. (QUIC's acknowledgements come from the stopped process, so its
//     idle timeout notices either way.)
//
// The watchdog gives up on a session when the engine is waiting for the
// peer (a Recv is in progress on some stream, or a Send the transport
// holds back because the peer's window is closed) and not a byte has
// arrived on any stream, nor left on one, for the idle timeout (a large block on a slow link is
// progress, byte by byte; a frame of an unknown type, which is skipped, is
// not: netStream.recv takes its bytes back off the clock). It does not fire while only our own
// side is busy (no Recv in progress: hashing, a final fsync), and a
// stream waiting quietly for a slower stripe does not trip it as long as
// another stream makes progress. The peer must therefore never keep the
// engine waiting for longer than the idle timeout without a byte: a
// receiver's final fsync and rename, or a block read from a stalled disk,
// must fit in it (DefaultIdleTimeout is 60 s; raise it for storage that
// can stall longer).

// watchdog follows one session's streams; see above.
type watchdog struct {
	idle    time.Duration
	who     string        // "server 10.0.0.1:9443", "client sha256:…", for the error
	last    atomic.Int64  // unix nanoseconds of the last Recv started or finished (see also netStream.lastRead)
	waiting atomic.Int32  // Recv calls in progress
	streams []*netStream  // aborted when it fires
	stop    chan struct{} // closed by Stop
	fired   atomic.Pointer[error]
	once    sync.Once

	grace       time.Duration              // peerReasonGrace, or 0
	peerErr     atomic.Pointer[wire.Error] // the first Error the peer sent, on any stream
	peerErrCh   chan struct{}              // closed when peerErr is set
	peerErrOnce sync.Once
}

// peerReasonGrace is how long, on the server, a stream that broke without
// a word waits for the client's reason to arrive on another stream that is
// being read. A failing peer sends its Error on every stream it can, but
// one whose sending side is blocked (a full window) only sees its end (EOF)
// or a reset; without the wait, that stream could win the race and the
// session would end with a bare "EOF" instead of the peer's reason. (The
// client looks for the server's reason after the engine has ended:
// clientConn.peerReason.)
const peerReasonGrace = 250 * time.Millisecond

// watchTicks is how often the watchdog looks per idle timeout.
const watchTicks = 10

// startWatchdog watches streams until Stop. A stream that breaks waits up
// to grace for the peer's reason on another one.
func startWatchdog(idle, grace time.Duration, who string, streams []*netStream) *watchdog {
	w := &watchdog{idle: idle, grace: grace, who: who, streams: streams, stop: make(chan struct{}), peerErrCh: make(chan struct{})}
	w.last.Store(time.Now().UnixNano())
	go w.loop()
	return w
}

func (w *watchdog) loop() {
	t := time.NewTicker(max(w.idle/watchTicks, 10*time.Millisecond))
	defer t.Stop()
	for {
		select {
		case <-w.stop:
			return
		case now := <-t.C:
			last := w.last.Load()
			for _, ns := range w.streams {
				if ns != nil {
					last = max(last, ns.lastRead.Load(), ns.lastWrite.Load())
				}
			}
			quiet := now.Sub(time.Unix(0, last))
			if w.waiting.Load() > 0 && quiet >= w.idle {
				w.fire(quiet)
				return
			}
		}
	}
}

// fire aborts every stream with an error that says what happened.
func (w *watchdog) fire(quiet time.Duration) {
	err := error(&stalledError{who: w.who, quiet: quiet.Round(100 * time.Millisecond), idle: w.idle})
	w.fired.Store(&err)
	for _, ns := range w.streams {
		if ns != nil {
			ns.Abort(err)
		}
	}
}

// Stop ends the watching (without waiting: the session's end must not be
// delayed, see Server.serveSession); it returns the error the watchdog
// fired with, if it did.
func (w *watchdog) Stop() error {
	w.once.Do(func() { close(w.stop) })
	if p := w.fired.Load(); p != nil {
		return *p
	}
	return nil
}

// wrap returns ns as an engine.Stream whose Recv and Send the watchdog
// follows.
func (w *watchdog) wrap(ns *netStream) engine.Stream { return &watchedStream{netStream: ns, w: w} }

type watchedStream struct {
	*netStream
	w *watchdog
}

func (s *watchedStream) Recv() (wire.Message, error) {
	s.w.waiting.Add(1)
	s.w.last.Store(time.Now().UnixNano())
	m, err := s.netStream.Recv()
	s.w.last.Store(time.Now().UnixNano())
	s.w.waiting.Add(-1)
	if e, ok := m.(*wire.Error); ok {
		s.w.peerErrOnce.Do(func() {
			s.w.peerErr.Store(e)
			close(s.w.peerErrCh)
		})
	}
	if err != nil && s.w.grace > 0 && s.abortErr() == nil { // broken by the peer's side, not aborted by ours
		select {
		case <-s.w.peerErrCh:
			return s.w.peerErr.Load(), nil // the engine turns it into a *engine.PeerError
		case <-time.After(s.w.grace):
		}
	}
	return m, err
}

// Send counts as waiting for the peer while it blocks: a sender whose
// stream the peer stopped reading (a closed window) waits for it as a
// Recv does. Over TCP, TCP_USER_TIMEOUT ends such a connection; over QUIC
// the connection's idle timeout is the larger of the configured one and
// three probe timeouts, and a peer stopped (SIGSTOP) for seconds leaves
// round-trip samples of seconds: a resumed server stayed blocked in a
// Write to its vanished client far beyond the idle timeout
// (TestSoakStoppedPeer/quic/pull/stop-server). Bytes written are progress
// (writeMarker): a large frame on a slow link is not a stall.
func (s *watchedStream) Send(m wire.Message) error {
	s.w.waiting.Add(1)
	s.w.last.Store(time.Now().UnixNano())
	err := s.netStream.Send(m)
	s.w.last.Store(time.Now().UnixNano())
	s.w.waiting.Add(-1)
	return err
}

// writeMarker records when bytes were last written to a stream, writing
// at most writeMarkStep bytes at a time so that a large frame marks its
// progress as it goes.
type writeMarker struct {
	io.Writer
	last *atomic.Int64
}

const writeMarkStep = 64 << 10

func (m writeMarker) Write(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		k, err := m.Writer.Write(p[n:min(len(p), n+writeMarkStep)])
		n += k
		if k > 0 {
			m.last.Store(time.Now().UnixNano())
		}
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// readMarker records when bytes were last read from a stream.
type readMarker struct {
	io.Reader
	last *atomic.Int64
}

func (m readMarker) Read(p []byte) (int, error) {
	n, err := m.Reader.Read(p)
	if n > 0 {
		m.last.Store(time.Now().UnixNano())
	}
	return n, err
}

// stalledError is the watchdog's verdict.
type stalledError struct {
	who   string
	quiet time.Duration
	idle  time.Duration
}

// Timeout is true: agent.IsNetwork counts a stalled peer as a network
// failure, worth retrying.
func (e *stalledError) Timeout() bool { return true }

func (e *stalledError) Error() string {
	return fmt.Sprintf("%s sent nothing for %v while we waited for it (idle timeout %v): it is stopped, hung or unreachable", e.who, e.quiet, e.idle)
}
