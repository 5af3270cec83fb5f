package agent

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"time"
)

// tcpStream is one worker's own TLS 1.3 connection.
type tcpStream struct {
	tc  *tls.Conn
	raw *net.TCPConn
	bc  *batchConn // between tc and raw
	rec *recLayer  // the records after the handshake; nil: tc's (tlsrec.go)
	rw  io.ReadWriter
}

// newTCPStream takes over tc's records after its handshake where it can
// (recLayer), else reads and writes through tc.
func newTCPStream(tc *tls.Conn, raw *net.TCPConn, bc *batchConn, client bool) *tcpStream {
	t := &tcpStream{tc: tc, raw: raw, bc: bc, rw: tc}
	if rl, err := newRecLayer(tc, bc, client); err == nil {
		t.rec, t.rw = rl, rl
	}
	return t
}

// closeNotify sends TLS close_notify.
func (t *tcpStream) closeNotify() error {
	if t.rec != nil {
		return t.rec.closeNotify()
	}
	return t.tc.CloseWrite()
}

// beginBatch and endBatch bracket the writes of one message (netStream.Send):
// its TLS records reach the socket in few writes (batchConn).
func (t *tcpStream) beginBatch()     { t.bc.begin() }
func (t *tcpStream) endBatch() error { return t.bc.release() }

func (t *tcpStream) Read(p []byte) (int, error)        { return t.rw.Read(p) }
func (t *tcpStream) Write(p []byte) (int, error)       { return t.rw.Write(p) }
func (t *tcpStream) SetReadDeadline(d time.Time) error { return t.raw.SetReadDeadline(d) }

// closeWrite sends TLS close_notify, then a TCP FIN.
func (t *tcpStream) closeWrite() error {
	err := t.closeNotify()
	if err2 := t.raw.CloseWrite(); err == nil {
		err = err2
	}
	return err
}

// abort interrupts pending calls through an expired deadline and sends a
// FIN behind what the kernel already holds (the peer then reads our last
// frames, typically an Error, and sees the stream end). Closing the socket
// outright could reset the connection and lose them.
func (t *tcpStream) abort() {
	t.raw.SetDeadline(time.Now())
	t.raw.CloseWrite()
}

// release ends our direction and waits, bounded, for the peer's FIN so
// that closing with unread data cannot reset what the peer has still to
// read; then it closes the socket.
func (t *tcpStream) release(linger time.Duration) {
	t.closeNotify() // tc's: a no-op after CloseSend; fails harmlessly after abort
	t.raw.CloseWrite()
	t.raw.SetReadDeadline(time.Now().Add(linger))
	io.Copy(io.Discard, t.raw)
	t.raw.Close()
}

// tcpKeepAlive detects a dead peer within about idle/2 (probes start after
// idle/4, three probes idle/12 apart); setUserTimeout bounds unacknowledged
// data the same way.
func tcpKeepAlive(idle time.Duration) net.KeepAliveConfig {
	return net.KeepAliveConfig{Enable: true, Idle: idle / 4, Interval: max(idle/12, time.Second), Count: 3}
}

// dialTCP connects one TLS stream to addr.
func dialTCP(ctx context.Context, addr string, conf *tls.Config, timeout, idle time.Duration) (*tcpStream, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	d := net.Dialer{KeepAliveConfig: tcpKeepAlive(idle)}
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	raw := c.(*net.TCPConn)
	setUserTimeout(raw, idle)
	bc := newBatchConn(raw)
	conf = conf.Clone()
	conf.KeyLogWriter = &bc.keys
	tc := tls.Client(bc, conf)
	if err := tc.HandshakeContext(ctx); err != nil {
		raw.Close()
		return nil, fmt.Errorf("TLS handshake with %s: %w", addr, err)
	}
	return newTCPStream(tc, raw, bc, true), nil
}

// serveTCP accepts TLS connections; each authenticated one carries one
// stream. It returns when the listener is closed.
func (s *Server) serveTCP(ctx context.Context) error {
	var delay time.Duration
	for {
		c, err := s.tcpLn.Accept()
		if err != nil {
			if ctx.Err() != nil || s.closing.Load() {
				return nil
			}
			if ne, ok := err.(net.Error); ok && ne.Timeout() || isTemporary(err) {
				delay = min(max(2*delay, 5*time.Millisecond), time.Second)
				s.log.Warn("accept failed; retrying", "err", err, "delay", delay)
				time.Sleep(delay)
				continue
			}
			return fmt.Errorf("agent: accept: %w", err)
		}
		delay = 0
		p, ok := s.hs.admit(c)
		if !ok {
			s.dropped.Add(1)
			if ok, n := s.dropLog.allow(); ok {
				s.log.Warn("closed a connection: too many TLS handshakes in progress from its address, or in all",
					"addr", c.RemoteAddr().String(), "pending", s.hs.pending(), "suppressed", n)
			}
			c.Close()
			continue
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.handleTCP(ctx, c.(*net.TCPConn), p)
		}()
	}
}

// handleTCP authenticates a connection and serves its stream.
func (s *Server) handleTCP(ctx context.Context, raw *net.TCPConn, p *pendingHandshake) {
	setUserTimeout(raw, s.cfg.IdleTimeout)
	bc := newBatchConn(raw)
	tc := tls.Server(bc, s.tlsConf)
	hctx, cancel := context.WithTimeout(ctx, s.cfg.HandshakeTimeout)
	err := tc.HandshakeContext(hctx)
	cancel()
	s.hs.done(p)
	if err != nil {
		// Refusals by VerifyConnection are logged there, with the fingerprint.
		s.log.Debug("TLS handshake failed", "addr", raw.RemoteAddr().String(), "err", err)
		raw.Close()
		return
	}
	peer, err := newPeerIdentity(s.allowList(), tc.ConnectionState(), raw.RemoteAddr())
	if err != nil {
		raw.Close()
		return
	}
	ctx, done := s.clientContext(ctx, peer.fp)
	defer done()
	if ctx.Err() != nil {
		raw.Close()
		return
	}
	s.handleStream(ctx, newTCPStream(tc, raw, bc, false), peer, "tcp")
}
