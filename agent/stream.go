package agent

import (
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pdiffagent/pdiffagent/engine"
	"github.com/pdiffagent/pdiffagent/wire"
)

// lingerTimeout bounds how long a stream that is being released waits for
// the peer to end its side (so that what was written last, a FinalAck or an
// Error, is not cut off by a reset).
const lingerTimeout = 5 * time.Second

// errStreamAborted is what a stream's calls return after Abort(nil).
var errStreamAborted = errors.New("agent: stream aborted")

// byteStream is one worker's ordered, reliable byte stream: a TLS
// connection of its own over TCP, or a QUIC stream.
type byteStream interface {
	io.Reader
	io.Writer
	SetReadDeadline(t time.Time) error
	// closeWrite ends our direction after everything written so far.
	closeWrite() error
	// abort makes pending and later reads and writes fail at once; bytes
	// already written still reach the peer where the transport allows.
	abort()
	// release ends our direction, waits at most linger for the peer to
	// end its own, and frees the stream. Called once, last.
	release(linger time.Duration)
}

// netStream is an engine.Stream over a byteStream: frames encoded by wire.
type netStream struct {
	bs     byteStream
	r      *wire.Reader
	worker int
	what   string // "worker 3 (quic 127.0.0.1:7000)", for errors

	// helloPending: the peer's Hello has not been read yet. The client
	// starts the engine on worker streams without waiting for the
	// server's Hello; the first Recv consumes and checks it.
	helloPending bool
	// caps are the capabilities this agent and the peer share, from the
	// peer's Hello (wire.Hello.Common); zero until it has been read.
	caps wire.Caps
	// olderCaps, when not zero, bound caps: an older agent played by a
	// test (ServerConfig.olderCaps).
	olderCaps wire.Caps

	// pre, when not nil, is a prefetch in flight or done: the next Recv
	// waits for it and returns preMsg, preErr.
	pre    <-chan struct{}
	preMsg wire.Message
	preErr error

	sendMu sync.Mutex // serializes Send and reportAbort

	lastRead atomic.Int64 // unix nanoseconds of the last bytes read, for the watchdog
	// lastWrite is when bytes were last written (the watchdog's progress
	// for a Send the transport holds back: the peer's window is closed).
	lastWrite atomic.Int64
	w         io.Writer // bs, marking lastWrite as it goes

	// holdClose makes CloseSend a no-op: the server ends its direction
	// only in release, after it has closed and unlocked the file and freed
	// the client's session slot, so a client that sees the end may start
	// its next session at once.
	holdClose   bool
	blockSize   int // the session's, once known: Data buffers are recycled
	closeOnce   sync.Once
	closeErr    error
	abortOnce   sync.Once
	aborted     atomic.Pointer[error]
	releaseOnce sync.Once
}

func newNetStream(bs byteStream, worker int, what string) *netStream {
	s := &netStream{bs: bs, worker: worker, what: what}
	s.r = wire.NewReader(readMarker{bs, &s.lastRead})
	s.w = writeMarker{bs, &s.lastWrite}
	return s
}

func (s *netStream) abortErr() error {
	if p := s.aborted.Load(); p != nil {
		return *p
	}
	return nil
}

// Send writes m as one frame.
func (s *netStream) Send(m wire.Message) error {
	if err := s.abortErr(); err != nil {
		return err
	}
	s.sendMu.Lock()
	defer s.sendMu.Unlock()
	err := s.writeFrame(m)
	if err != nil {
		if a := s.abortErr(); a != nil {
			return a
		}
		return fmt.Errorf("%s: send %s: %w", s.what, m.Type(), err)
	}
	// Both transports have copied the payload out (TLS encrypts it, quic-go
	// copies it into its frames) by the time Write returns: recycle it.
	if s.blockSize > 0 {
		switch d := m.(type) {
		case *wire.Data:
			engine.ReleaseBlockBuffer(s.blockSize, d.Payload)
		case *wire.SubData:
			engine.ReleaseBlockBuffer(s.blockSize, d.Payload)
		}
	}
	return nil
}

// batcher is a byte stream that can gather the writes of one message
// into few system calls (tcpStream: batchConn).
type batcher interface {
	beginBatch()
	endBatch() error
}

// writeFrame writes m, its writes gathered where the stream can.
func (s *netStream) writeFrame(m wire.Message) error {
	b, ok := s.bs.(batcher)
	if !ok {
		return wire.WriteFrame(s.w, m)
	}
	b.beginBatch()
	err := wire.WriteFrame(s.w, m)
	if err2 := b.endBatch(); err == nil {
		err = err2
	}
	return err
}

// Recv reads the next message, skipping message types this version does
// not know. It returns io.EOF when the peer ended the stream between frames.
func (s *netStream) Recv() (wire.Message, error) {
	if pre := s.pre; pre != nil {
		<-pre
		s.pre = nil
		return s.preMsg, s.preErr
	}
	return s.recv()
}

func (s *netStream) recv() (wire.Message, error) {
	for {
		if err := s.abortErr(); err != nil {
			return nil, err
		}
		before := s.lastRead.Load()
		m, err := s.r.ReadMessage()
		if _, ok := m.(*wire.Keepalive); ok {
			continue // its bytes were progress for the watchdog (readMarker); nothing else
		}
		if err != nil {
			var unknown *wire.UnknownTypeError
			if errors.As(err, &unknown) {
				// Skipped, and no progress: the watchdog must not count
				// it, or frames of unknown types would keep a session
				// (and its file's lock) alive forever.
				s.lastRead.Store(before)
				continue
			}
			if a := s.abortErr(); a != nil {
				return nil, a
			}
			if err == io.EOF {
				return nil, io.EOF
			}
			return nil, fmt.Errorf("%s: %w", s.what, err)
		}
		if !s.helloPending {
			return m, nil
		}
		s.helloPending = false
		switch h := m.(type) {
		case *wire.Hello:
			if err := wire.CheckHello(*h); err != nil {
				return nil, err
			}
			s.caps = h.Common()
			if s.olderCaps != 0 {
				s.caps &= s.olderCaps
			}
		case *wire.Error:
			return m, nil
		default:
			return nil, fmt.Errorf("%s: peer sent %s before Hello", s.what, m.Type())
		}
	}
}

// setBlockSize bounds the Data frames the stream accepts to the session's
// block size and reads their payloads into the engine's recycled buffers.
// Call it before the stream's first read of the session.
func (s *netStream) setBlockSize(bs int) {
	s.blockSize = bs
	s.r.SetMaxBlockSize(bs)
	s.r.SetAlloc(func(n int) []byte { return engine.BlockBuffer(bs, n) })
}

// CloseSend ends our direction of the stream.
func (s *netStream) CloseSend() error {
	if s.holdClose {
		return nil // release ends our direction, once the session is cleaned up
	}
	s.closeOnce.Do(func() { s.closeErr = s.bs.closeWrite() })
	return s.closeErr
}

// Abort tears the stream down; see byteStream.abort.
func (s *netStream) Abort(err error) {
	if err == nil {
		err = errStreamAborted
	}
	s.abortOnce.Do(func() {
		s.aborted.Store(&err)
		s.bs.abort()
	})
}

// reportAbort tells the peer why (unless a Send is blocked on this stream)
// and aborts the stream. It may run concurrently with the engine's calls.
func (s *netStream) reportAbort(err error) {
	if s.sendMu.TryLock() {
		if s.abortErr() == nil {
			wire.WriteFrame(s.bs, toWireError(err))
			s.CloseSend()
		}
		s.sendMu.Unlock()
	}
	s.Abort(err)
}

// release frees the stream once its session is over (see byteStream.release).
func (s *netStream) release() { s.releaseLinger(lingerTimeout) }

func (s *netStream) releaseLinger(linger time.Duration) {
	s.releaseOnce.Do(func() { s.bs.release(linger) })
}

// expect reads the next message, which must be a T, with a deadline.
// An Error frame from the peer becomes an *engine.PeerError.
func expect[T wire.Message](s *netStream, deadline time.Time) (T, error) {
	var zero T
	s.bs.SetReadDeadline(deadline)
	defer s.bs.SetReadDeadline(time.Time{})
	m, err := s.Recv()
	if err == io.EOF {
		err = fmt.Errorf("%s: peer closed the stream", s.what)
	}
	if err != nil {
		return zero, err
	}
	if e, ok := m.(*wire.Error); ok {
		return zero, peerError(e)
	}
	t, ok := m.(T)
	if !ok {
		return zero, fmt.Errorf("%s: peer sent %s, want %s", s.what, m.Type(), zero.Type())
	}
	return t, nil
}

// releaseAll releases streams concurrently and waits for all.
func releaseAll(streams []*netStream) { releaseAllLinger(streams, lingerTimeout) }

func releaseAllLinger(streams []*netStream, linger time.Duration) {
	var wg sync.WaitGroup
	for _, s := range streams {
		if s == nil {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.releaseLinger(linger)
		}()
	}
	wg.Wait()
}

// prefetch starts reading the next message in the background and returns a
// channel closed once it is in; the next Recv returns it. The server uses it
// to notice a client that gives up while worker streams are attaching.
func (s *netStream) prefetch() <-chan struct{} {
	done := make(chan struct{})
	s.pre = done
	go func() {
		defer close(done)
		s.preMsg, s.preErr = s.recv()
	}()
	return done
}

// prefetched is the result of prefetch, once its channel is closed.
func (s *netStream) prefetched() (wire.Message, error) { return s.preMsg, s.preErr }
