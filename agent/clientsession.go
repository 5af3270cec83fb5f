package agent

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/hashicorp/yamux"
	"github.com/pdiffagent/pdiffagent/engine"
	"github.com/pdiffagent/pdiffagent/wire"
	"github.com/quic-go/quic-go"
)

// cancelLinger is how long a cancelled client waits for the server to end
// its streams: long enough for our Error to be read, short for Ctrl-C.
const cancelLinger = 500 * time.Millisecond

// runFunc is the client's side of the engine, run on the session's streams
// with the parameters the server accepted.
type runFunc func(ctx context.Context, p engine.Params, streams []engine.Stream) (engine.Stats, error)

// runClient opens a session (control stream, Open, OpenReply), attaches the
// worker streams, runs the engine and closes everything.
func runClient(ctx context.Context, cfg ClientConfig, hostport string, open *wire.Open, p engine.Params, run runFunc) (Outcome, error) {
	c := &clientConn{cfg: cfg, hostport: hostport}
	if cfg.Tunnel == nil {
		c.tlsConf = clientTLSConfig(cfg.Identity, cfg.Pin, cfg.PinVerified)
	}
	if cfg.Transport == TransportQUIC {
		c.quic = make([]lazyConn, cfg.Connections)
	}
	if _, err := rand.Read(open.SessionID[:]); err != nil {
		return Outcome{}, err
	}
	out := Outcome{Transport: cfg.Transport}
	// Until the engine runs, a cancelled ctx tears the session down here;
	// then the engine watches ctx itself.
	stop := context.AfterFunc(ctx, func() { c.abort(context.Cause(ctx)) })
	st, err := c.session(ctx, open, &p, run, stop)
	stop()
	if ee, ok := err.(*engineError); ok {
		err = ee.err
	}
	if err != nil && ctx.Err() == nil {
		err = c.peerReason(err)
	}
	out.Stats, out.Workers, out.Connections = st, p.Workers, c.connections()
	c.close(ctx, err)
	cfg.Log.Debug("session ended", "server", hostport, "path", open.Path, "transport", out.Transport,
		"connections", out.Connections, "workers", out.Workers, "err", err)
	if err != nil {
		return out, c.explain(err)
	}
	return out, nil
}

func (c *clientConn) session(ctx context.Context, open *wire.Open, p *engine.Params, run runFunc, stop func() bool) (engine.Stats, error) {
	ctl, err := c.openStream(ctx, 0)
	if err != nil {
		return engine.Stats{}, err
	}
	if err := ctl.Send(open); err != nil {
		// A server that refused us may have closed before our write: its
		// reason (a TLS alert, an Error frame) may still be there to read.
		if _, rerr := expect[*wire.OpenReply](ctl, time.Now().Add(time.Second)); isPeerReason(rerr) {
			return engine.Stats{}, rerr
		}
		return engine.Stats{}, err
	}
	reply, err := expect[*wire.OpenReply](ctl, time.Now().Add(c.replyTimeout(open)))
	if err != nil {
		return engine.Stats{}, err
	}
	return c.start(ctx, ctl, open, reply, p, run, stop)
}

// start attaches the workers the server accepted and runs the engine. The
// server waits for the workers: a failure before the engine runs is
// reported to it on the control stream.
func (c *clientConn) start(ctx context.Context, ctl *netStream, open *wire.Open, reply *wire.OpenReply, p *engine.Params, run runFunc, stop func() bool) (_ engine.Stats, err error) {
	defer func() {
		var ee *engineError
		if err != nil && !errors.As(err, &ee) {
			ctl.Send(toWireError(fmt.Errorf("client: %w", err)))
		}
	}()
	if reply.Workers < 1 || int(reply.Workers) > p.Workers {
		return engine.Stats{}, fmt.Errorf("server accepted %d workers, asked for %d", reply.Workers, p.Workers)
	}
	p.Workers = int(reply.Workers)
	p.Caps = ctl.caps // the server's Hello came before its OpenReply
	if open.Op == wire.OpPush {
		p.PeerRecord = reply.RecordDigest // the engine uses it only with CapRecordDigest
	}
	if open.Op == wire.OpPull {
		var err error
		if *p, err = p.Bind(reply.Size); err != nil {
			return engine.Stats{}, fmt.Errorf("server's answer: %w", err)
		}
	}
	streams, err := c.attach(ctx, open.SessionID, p.Workers)
	if err != nil {
		return engine.Stats{}, fmt.Errorf("opening worker streams: %w", err)
	}
	stop()
	wd := startWatchdog(c.cfg.IdleTimeout, 0, "server "+c.hostport, streams)
	es := make([]engine.Stream, len(streams))
	for i, ns := range streams {
		ns.setBlockSize(p.BlockSize)
		es[i] = engine.ThrottleStream(wd.wrap(ns), c.cfg.Link)
	}
	st, err := run(ctx, *p, es)
	if werr := wd.Stop(); werr != nil && err != nil {
		err = werr
	}
	return st, engineDone(err)
}

// atomicCopyRate is the slowest copy an atomic push's server is expected
// to make of its old target (on a filesystem without reflinks) before it
// answers the Open.
const atomicCopyRate = 32 << 20 // bytes per second

// replyTimeout bounds the wait for the server's OpenReply: DialTimeout,
// plus, for an atomic push, time for the server to copy a target as large
// as the source (it answers once its copy is made).
func (c *clientConn) replyTimeout(open *wire.Open) time.Duration {
	d := c.cfg.DialTimeout
	if open.Op == wire.OpPush && open.Flags&wire.FlagAtomic != 0 {
		d += time.Duration(open.Size/atomicCopyRate) * time.Second
	}
	return d
}

// engineDone marks an error as the engine's own, which it has already
// reported to the server.
func engineDone(err error) error {
	if err == nil {
		return nil
	}
	return &engineError{err}
}

type engineError struct{ err error }

func (e *engineError) Error() string { return e.err.Error() }
func (e *engineError) Unwrap() error { return e.err }

// clientConn is the client's side of one session's connections.
type clientConn struct {
	cfg      ClientConfig
	hostport string
	tlsConf  *tls.Config
	quic     []lazyConn // QUIC only: Connections connections, dialed on first use

	mu      sync.Mutex
	streams []*netStream     // every stream opened, by worker
	conns   []*quic.Conn     // every QUIC connection dialed
	tcp     int              // TCP connections dialed
	muxes   []*yamux.Session // the tunnels' multiplexers (ClientConfig.Tunnel, Tunnels), made on first use
	aborted error            // set by abort: no more streams
}

type lazyConn struct {
	mu  sync.Mutex
	c   *quic.Conn
	err error
}

// openStream opens worker w's stream and sends its Hello; the server's
// Hello is read by the stream's first Recv.
func (c *clientConn) openStream(ctx context.Context, w int) (*netStream, error) {
	var (
		bs   byteStream
		what string
	)
	if c.cfg.Tunnel != nil {
		t, err := c.openTunnelStream(ctx, w)
		if err != nil {
			return nil, err
		}
		bs, what = t, fmt.Sprintf("worker %d (%s)", w, c.hostport)
	} else if c.quic == nil {
		t, err := dialTCP(ctx, c.hostport, c.tlsConf, c.cfg.DialTimeout, c.cfg.IdleTimeout)
		if err != nil {
			return nil, err
		}
		bs, what = t, fmt.Sprintf("worker %d (tcp %s)", w, c.hostport)
	} else {
		i := w % len(c.quic)
		qc, err := c.quicConn(ctx, i)
		if err != nil {
			return nil, err
		}
		sctx, cancel := context.WithTimeout(ctx, c.cfg.DialTimeout)
		st, err := qc.OpenStreamSync(sctx)
		cancel()
		if err != nil {
			return nil, fmt.Errorf("QUIC stream to %s: %w", c.hostport, err)
		}
		bs, what = &quicStream{s: st}, fmt.Sprintf("worker %d (quic %s, connection %d)", w, c.hostport, i)
	}
	ns := newNetStream(bs, w, what)
	ns.helloPending = true
	c.mu.Lock()
	c.streams = append(c.streams, ns)
	if c.quic == nil {
		c.tcp++
	}
	aborted := c.aborted
	c.mu.Unlock()
	if aborted != nil {
		ns.Abort(aborted)
		return nil, aborted
	}
	if err := ns.Send(wire.NewHello()); err != nil {
		return nil, err
	}
	return ns, nil
}

// quicConn returns connection i, dialing it on first use.
func (c *clientConn) quicConn(ctx context.Context, i int) (*quic.Conn, error) {
	lc := &c.quic[i]
	lc.mu.Lock()
	defer lc.mu.Unlock()
	if lc.c != nil || lc.err != nil {
		return lc.c, lc.err
	}
	qc, err := dialQUIC(ctx, c.hostport, c.tlsConf, c.cfg.DialTimeout, c.cfg.IdleTimeout)
	if err != nil {
		lc.err = err
		return nil, err
	}
	c.mu.Lock()
	c.conns = append(c.conns, qc)
	aborted := c.aborted
	c.mu.Unlock()
	if aborted != nil {
		qc.CloseWithError(quicCodeCanceled, "client canceled")
		lc.err = aborted
		return nil, aborted
	}
	lc.c = qc
	return qc, nil
}

// attach opens workers-1 more streams, concurrently, each sending Attach.
func (c *clientConn) attach(ctx context.Context, id [wire.SessionIDSize]byte, workers int) ([]*netStream, error) {
	if c.quic != nil && len(c.quic) > workers {
		c.quic = c.quic[:workers] // more connections than streams is pointless
	}
	streams := make([]*netStream, workers)
	c.mu.Lock()
	streams[0] = c.streams[0]
	c.mu.Unlock()
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for w := 1; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ns, err := c.openStream(ctx, w)
			if err == nil {
				err = ns.Send(&wire.Attach{SessionID: id, Worker: uint16(w)})
			}
			streams[w], errs[w] = ns, err
		}()
	}
	wg.Wait()
	return streams, errors.Join(errs...)
}

// abort tears down every stream and connection at once (ctx cancelled
// before the engine runs).
func (c *clientConn) abort(err error) {
	if err == nil {
		err = context.Canceled
	}
	c.mu.Lock()
	c.aborted = err
	streams := append([]*netStream(nil), c.streams...)
	c.mu.Unlock()
	for _, ns := range streams {
		ns.Abort(err)
	}
}

func (c *clientConn) connections() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case c.muxes != nil:
		n := 0
		for _, m := range c.muxes {
			if m != nil {
				n++
			}
		}
		return n
	case c.quic != nil:
		return len(c.conns)
	}
	return c.tcp
}

// close releases every stream (waiting briefly for the server to end its
// side, so that our last frames arrive) and closes the QUIC connections.
func (c *clientConn) close(ctx context.Context, err error) {
	c.mu.Lock()
	streams, conns := c.streams, c.conns
	c.mu.Unlock()
	linger := lingerTimeout
	var stalled *stalledError
	if ctx.Err() != nil || errors.As(err, &stalled) { // a stalled server will not answer either
		linger = cancelLinger
	}
	if err != nil {
		for _, ns := range streams {
			ns.Abort(err)
		}
	}
	releaseAllLinger(streams, linger)
	code, msg := quicCodeDone, "done"
	if err != nil {
		code, msg = quicCodeCanceled, "client failed: "+err.Error()
	}
	for _, qc := range conns {
		qc.CloseWithError(code, msg)
	}
	c.mu.Lock()
	muxes := c.muxes
	c.mu.Unlock()
	for _, m := range muxes {
		if m != nil {
			m.Close() // the caller closes the tunnels themselves
		}
	}
}

// reasonWait bounds the search for the server's reason after a failure.
const reasonWait = 300 * time.Millisecond

// peerReason returns the server's account of a failure when err is only
// its symptom (a stream that ended or broke): a failing server sends an
// Error on every stream it can, but the engine stops reading at the first
// broken stream, which can be one the server could not write its Error to
// (its sending side was blocked). The Error may then still sit unread in
// another stream: read what is left of each, briefly, to find it. Streams
// whose reads were interrupted cannot be read on; the engine has ended, so
// nothing else reads them.
func (c *clientConn) peerReason(err error) error {
	if !brokenStream(err) || isPeerReason(err) {
		return err
	}
	c.mu.Lock()
	streams := append([]*netStream(nil), c.streams...)
	c.mu.Unlock()
	found := make(chan error, len(streams))
	var wg sync.WaitGroup
	deadline := time.Now().Add(reasonWait)
	for _, ns := range streams {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ns.bs.SetReadDeadline(deadline)
			for {
				m, rerr := ns.r.ReadMessage()
				var unknown *wire.UnknownTypeError
				switch {
				case errors.As(rerr, &unknown):
					continue
				case rerr != nil:
					return
				}
				if e, ok := m.(*wire.Error); ok {
					found <- peerError(e)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(found)
	if reason, ok := <-found; ok {
		c.cfg.Log.Debug("the server's reason, found after the session broke", "broken", err, "reason", reason)
		return reason
	}
	return err
}

// brokenStream reports whether err says only that a stream ended or broke
// (the peer closed or reset it), not why.
func brokenStream(err error) bool {
	var se *quic.StreamError
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.EPIPE) || errors.Is(err, syscall.ECONNABORTED) || errors.As(err, &se)
}

// isPeerReason reports whether err is the peer's account of a failure.
func isPeerReason(err error) bool {
	var pe *engine.PeerError
	return err != nil && (errors.As(err, &pe) || strings.Contains(err.Error(), "remote error") ||
		strings.Contains(err.Error(), "(remote)"))
}

// explain adds a hint to errors whose cause a user cannot guess.
func (c *clientConn) explain(err error) error {
	if strings.Contains(err.Error(), "bad certificate") {
		return fmt.Errorf("server %s refused this client (%s): add it to the server's allow list (--allow): %w",
			c.hostport, c.cfg.Identity.Fingerprint(), &refusedError{err})
	}
	return err
}
