package agent

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/quic-go/quic-go"
)

// QUIC application error codes.
const (
	quicCodeDone     quic.ApplicationErrorCode = 0 // session over
	quicCodeCanceled quic.ApplicationErrorCode = 1 // session canceled or failed
	quicCodeShutdown quic.ApplicationErrorCode = 2 // server shutting down

	quicStreamAborted quic.StreamErrorCode = 1
)

// quicStream is one worker's QUIC stream. onRelease, when set, is called
// once the stream is released (the server counts its connection's streams).
type quicStream struct {
	s         *quic.Stream
	onRelease func()
}

func (q *quicStream) Read(p []byte) (int, error)        { return q.s.Read(p) }
func (q *quicStream) Write(p []byte) (int, error)       { return q.s.Write(p) }
func (q *quicStream) SetReadDeadline(d time.Time) error { return q.s.SetReadDeadline(d) }
func (q *quicStream) closeWrite() error                 { return q.s.Close() }

// abort: expired deadlines release blocked calls, and Close sends the FIN
// behind the data already queued, so that our last frames (typically an
// Error) still arrive. The receive side stays open until release drains it:
// cancelling it (STOP_SENDING) could make the peer reset its stream before
// it has read that Error.
func (q *quicStream) abort() {
	q.s.SetDeadline(time.Now())
	q.s.Close()
}

// release ends our direction and waits, bounded, for the peer's FIN.
func (q *quicStream) release(linger time.Duration) {
	q.s.Close()
	q.s.SetReadDeadline(time.Now().Add(linger))
	io.Copy(io.Discard, q.s)
	q.s.CancelRead(quicStreamAborted) // no-op once the FIN was read
	if q.onRelease != nil {
		q.onRelease()
	}
}

// quicConfig is shared by both sides. A worker needs one stream, plus the
// control stream; a client opens at most wire.MaxWorkers per session.
func quicConfig(handshake, idle time.Duration, maxStreams int) *quic.Config {
	return &quic.Config{
		HandshakeIdleTimeout:       handshake,
		MaxIdleTimeout:             idle,
		KeepAlivePeriod:            idle / 4,
		MaxIncomingStreams:         int64(maxStreams),
		MaxIncomingUniStreams:      -1,
		MaxStreamReceiveWindow:     16 << 20,
		MaxConnectionReceiveWindow: 64 << 20,
	}
}

// dialQUIC opens one QUIC connection, with a UDP socket of its own so that
// every connection is a distinct flow (bonded links hash flows to members).
func dialQUIC(ctx context.Context, addr string, conf *tls.Config, timeout, idle time.Duration) (*quic.Conn, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	c, err := quic.DialAddr(ctx, addr, conf, quicConfig(timeout, idle, -1))
	if err != nil {
		return nil, fmt.Errorf("QUIC handshake with %s: %w", addr, err)
	}
	return c, nil
}

// serveQUIC accepts authenticated QUIC connections until the listener is
// closed.
func (s *Server) serveQUIC(ctx context.Context) error {
	for {
		c, err := s.quicLn.Accept(ctx)
		if err != nil {
			if ctx.Err() != nil || s.closing.Load() {
				return nil
			}
			return fmt.Errorf("agent: QUIC accept: %w", err)
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.handleQUICConn(ctx, c)
		}()
	}
}

// handleQUICConn serves every stream the client opens on c.
func (s *Server) handleQUICConn(ctx context.Context, c *quic.Conn) {
	peer, err := newPeerIdentity(s.allowList(), c.ConnectionState().TLS, c.RemoteAddr())
	if err != nil {
		c.CloseWithError(quicCodeCanceled, "refused")
		return
	}
	ctx, done := s.clientContext(ctx, peer.fp)
	defer done()
	if ctx.Err() != nil {
		c.CloseWithError(quicCodeCanceled, "refused")
		return
	}
	cs := &connStreams{idleSince: time.Now()}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		s.closeIdleConn(c, cs, peer)
	}()
	for {
		st, err := c.AcceptStream(ctx)
		if err != nil {
			if ctx.Err() != nil { // shutting down: the transport's Close ends c
				return
			}
			c.CloseWithError(quicCodeDone, "")
			return
		}
		cs.add()
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.handleStream(ctx, &quicStream{s: st, onRelease: cs.done}, peer, "quic")
		}()
	}
}

// connStreams counts the streams of a QUIC connection not yet released.
type connStreams struct {
	mu        sync.Mutex
	active    int
	idleSince time.Time // when active last became 0
}

func (cs *connStreams) add() {
	cs.mu.Lock()
	cs.active++
	cs.mu.Unlock()
}

func (cs *connStreams) done() {
	cs.mu.Lock()
	if cs.active--; cs.active == 0 {
		cs.idleSince = time.Now()
	}
	cs.mu.Unlock()
}

// idleFor is how long the connection has carried no stream (0 if it does).
func (cs *connStreams) idleFor(now time.Time) time.Duration {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if cs.active > 0 {
		return 0
	}
	return now.Sub(cs.idleSince)
}

// closeIdleConn closes c once it has carried no stream for the handshake
// timeout: an authenticated connection that opens no session does not stay
// up on keepalives.
func (s *Server) closeIdleConn(c *quic.Conn, cs *connStreams, peer peerIdentity) {
	hs := s.cfg.HandshakeTimeout
	t := time.NewTimer(hs)
	defer t.Stop()
	for {
		select {
		case <-c.Context().Done():
			return
		case now := <-t.C:
			d := cs.idleFor(now)
			if d >= hs {
				s.log.Debug("closed a QUIC connection that carried no session", "client", peer.fp, "addr", peer.addr, "idle", d)
				c.CloseWithError(quicCodeCanceled, "no session within the handshake timeout")
				return
			}
			t.Reset(hs - d)
		}
	}
}
