package engine

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pdiffagent/pdiffagent/wire"
)

// reportTimeout bounds how long a failing side spends telling its peer why.
const reportTimeout = 2 * time.Second

// session is what Send and Receive share: the streams, each with a send
// lock (a worker's two goroutines both send), and the error bookkeeping
// that makes the first real cause the one reported.
type session struct {
	streams []*lockedStream
	ctx     context.Context
	cancel  context.CancelFunc

	mu  sync.Mutex
	err error // the best error so far, see rank

	// wire counts the encoded frames sent and received on all streams:
	// what crosses a network stream, and what would cross one for a Pipe.
	wire atomic.Int64
}

func newSession(ctx context.Context, streams []Stream) *session {
	s := &session{}
	s.ctx, s.cancel = context.WithCancel(ctx)
	for _, st := range streams {
		s.streams = append(s.streams, &lockedStream{Stream: st, wire: &s.wire})
	}
	return s
}

// lockedStream serialises Send; Recv stays with a single goroutine. Both
// count the frames they move into wire. While a sender worker decides, sq
// is its send queue (sendqueue.go): Send queues, and the worker's reader
// sends its WeakBatches with sendNow, ahead of what is queued.
type lockedStream struct {
	Stream
	mu   sync.Mutex
	wire *atomic.Int64
	sq   *sendQueue // set and cleared by the worker while no other goroutine sends
	ob   *outbox    // a batch's messages, held by the decider (outbox.go)
}

func (l *lockedStream) Send(m wire.Message) error {
	if l.ob != nil {
		l.ob.msgs = append(l.ob.msgs, m)
		return nil
	}
	if l.sq != nil {
		return l.sq.send(m)
	}
	return l.sendNow(m)
}

// sendNow sends m at once, whether or not a send queue is in use.
func (l *lockedStream) sendNow(m wire.Message) error {
	n := frameLen(m) // before Send: the message is the stream's after it
	l.mu.Lock()
	defer l.mu.Unlock()
	err := l.Stream.Send(m)
	if err == nil {
		l.wire.Add(n)
	}
	return err
}

func (l *lockedStream) Recv() (wire.Message, error) {
	m, err := l.Stream.Recv()
	if err == nil {
		l.wire.Add(frameLen(m))
	}
	return m, err
}

// frameLen is the size of m encoded as a frame, header included.
func frameLen(m wire.Message) int64 { return int64(wire.FrameHeaderLen + m.Len()) }

// rank orders errors by how much they explain: what the peer said beats a
// local failure, which beats the stream breaking, which beats cancellation
// caused by another error.
func rank(err error) int {
	var pe *PeerError
	switch {
	case errors.As(err, &pe):
		return 3
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded), errors.Is(err, errStreamBroken):
		return 1
	}
	return 2
}

// errStreamBroken marks errors from a stream's Send or Recv.
var errStreamBroken = errors.New("engine: stream broken")

type streamError struct{ err error }

func (e *streamError) Error() string { return e.err.Error() }
func (e *streamError) Unwrap() []error {
	return []error{e.err, errStreamBroken}
}

func wrapStream(err error) error {
	if err == nil {
		return nil
	}
	var se *streamError
	if errors.As(err, &se) {
		return err
	}
	return &streamError{err}
}

// fail records err and cancels the session.
func (s *session) fail(err error) {
	if err == nil {
		return
	}
	s.mu.Lock()
	if s.err == nil || rank(err) > rank(s.err) {
		s.err = err
	}
	s.mu.Unlock()
	s.cancel()
}

func (s *session) firstErr() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// run runs fn for every worker concurrently and waits for all of them. If
// any fails, or the context ends, the peer is told why (best effort, within
// reportTimeout) and every stream is aborted so no goroutine stays blocked.
func (s *session) run(fn func(ctx context.Context, w int, st *lockedStream) error) error {
	var wg sync.WaitGroup
	for w, st := range s.streams {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.fail(fn(s.ctx, w, st))
		}()
	}
	stop := make(chan struct{})
	watched := make(chan struct{})
	go func() { // the watcher: turns a cancelled session into aborted streams
		defer close(watched)
		select {
		case <-s.ctx.Done():
		case <-stop:
			if s.ctx.Err() == nil {
				return // every worker succeeded
			}
			// A worker failed just before the last one returned: report it.
		}
		s.fail(s.ctx.Err())
		s.abort(s.firstErr())
	}()
	wg.Wait()
	close(stop)
	<-watched
	return s.firstErr()
}

// abort tells the peer why, then tears every stream down.
func (s *session) abort(err error) {
	if rank(err) < 3 { // a peer's own error needs no echo
		msg := &wire.Error{Code: errorCode(err), Message: truncate(err.Error(), wire.MaxErrorLen)}
		var wg sync.WaitGroup
		for _, st := range s.streams {
			wg.Add(1)
			go func() {
				defer wg.Done()
				// A worker blocked in Send holds the lock: the timeout
				// below aborts the stream, which frees it.
				st.mu.Lock()
				st.Stream.Send(msg)
				st.Stream.CloseSend()
				st.mu.Unlock()
			}()
		}
		done := make(chan struct{})
		go func() { wg.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(reportTimeout):
		}
		for _, st := range s.streams {
			st.Abort(err)
		}
		<-done
		return
	}
	for _, st := range s.streams {
		st.Abort(err)
	}
}

// errorCode is the wire code err is reported with. An error that knows
// its code (a cause the caller cancelled the session with, such as the
// agent's "client removed") says it through WireCode.
func errorCode(err error) uint16 {
	var coded interface{ WireCode() uint16 }
	if errors.As(err, &coded) {
		return coded.WireCode()
	}
	switch {
	case errors.Is(err, ErrSourceChanged):
		return wire.CodeChanged
	case errors.Is(err, context.Canceled):
		return wire.CodeCanceled
	case errors.Is(err, ErrProtocol), errors.Is(err, wire.ErrInvalid), errors.Is(err, wire.ErrTooLarge),
		errors.Is(err, wire.ErrTruncated), errors.Is(err, wire.ErrTrailing), errors.Is(err, wire.ErrBadMagic):
		return wire.CodeBadRequest
	case errors.Is(err, ErrVerify):
		return wire.CodeVerify
	}
	return wire.CodeIO
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// recvMsg receives one message, turning a peer's *wire.Error into a PeerError.
func recvMsg(st Stream) (wire.Message, error) {
	m, err := st.Recv()
	if err != nil {
		return nil, wrapStream(err)
	}
	if e, ok := m.(*wire.Error); ok {
		return nil, &PeerError{Code: e.Code, Message: e.Message}
	}
	return m, nil
}
