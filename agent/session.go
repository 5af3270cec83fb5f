package agent

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/pdiffagent/pdiffagent/engine"
	"github.com/pdiffagent/pdiffagent/wire"
)

// errServerClosing aborts the streams of a server that is shutting down. It
// counts as context.Canceled, so that the engine reports it with
// wire.CodeCanceled too.
var errServerClosing error = shutdownError{}

type shutdownError struct{}

func (shutdownError) Error() string        { return "server shutting down" }
func (shutdownError) Is(target error) bool { return target == context.Canceled }

// handleStream runs the opening of every stream: Hello both ways, then
// Open (a new session, served on this goroutine) or Attach (the stream is
// handed to its session).
func (s *Server) handleStream(ctx context.Context, bs byteStream, peer peerIdentity, transport string) {
	ns := newNetStream(bs, -1, fmt.Sprintf("%s stream from %s", transport, peer.addr))
	ns.helloPending = true
	stop := context.AfterFunc(ctx, func() { ns.Abort(abortCause(ctx)) })
	kept := false
	defer func() {
		if !kept {
			stop()
			ns.release()
		}
	}()
	hello := wire.NewHello()
	if c := s.cfg.olderCaps; c != 0 { // a test's older server
		hello.Caps, ns.olderCaps = c, c
	}
	if err := ns.Send(hello); err != nil {
		return
	}
	bs.SetReadDeadline(time.Now().Add(s.cfg.HandshakeTimeout))
	m, err := ns.Recv()
	bs.SetReadDeadline(time.Time{})
	if err != nil {
		var ve *wire.VersionError
		if errors.As(err, &ve) {
			ns.Send(wire.NewError(wire.CodeBadRequest, ve.ForPeer()))
		}
		level, msg := slog.LevelDebug, "stream opening failed"
		switch {
		case errors.Is(err, os.ErrDeadlineExceeded):
			level, msg = slog.LevelWarn, "dropped stream: no Open or Attach within the handshake timeout"
		case brokeProtocol(err):
			level, msg = slog.LevelWarn, "dropped stream: client broke the protocol"
		}
		s.log.Log(ctx, level, msg, "client", peer.fp, "addr", peer.addr, "err", err)
		return
	}
	switch m := m.(type) {
	case *wire.Open:
		if !stop() {
			return // shutting down
		}
		kept = true
		if m.Op == wire.OpTree || m.Op == wire.OpTreePull {
			s.serveTree(ctx, ns, peer, m, transport)
			return
		}
		s.serveSession(ctx, ns, peer, m, transport)
	case *wire.Attach:
		if err := s.attach(ns, peer, m); err != nil {
			ns.Send(toWireError(err))
			s.log.Info("refused worker stream", "client", peer.fp, "addr", peer.addr, "err", err)
			return
		}
		stop() // the session owns it now (and aborts it if ctx ends)
		kept = true
	case *wire.Error:
		s.log.Debug("client gave up", "client", peer.fp, "addr", peer.addr, "err", peerError(m))
	default:
		ns.Send(wire.NewError(wire.CodeBadRequest, fmt.Sprintf("expected Open or Attach, got %s", m.Type())))
	}
}

// attach hands ns to the session named in a.
func (s *Server) attach(ns *netStream, peer peerIdentity, a *wire.Attach) error {
	s.mu.Lock()
	ss := s.sessions[a.SessionID]
	s.mu.Unlock()
	if ss == nil || ss.peer.fp != peer.fp {
		return codeErrorf(wire.CodeBadRequest, "unknown session")
	}
	ns.worker = int(a.Worker)
	ns.what = fmt.Sprintf("worker %d (%s)", a.Worker, ns.what)
	return ss.add(int(a.Worker), ns)
}

// serveSession runs a session from its Open to its end, on the control
// stream's goroutine.
func (s *Server) serveSession(ctx context.Context, ctl *netStream, peer peerIdentity, o *wire.Open, transport string) {
	start := time.Now()
	op := "push"
	if o.Op == wire.OpPull {
		op = "pull"
	}
	log := s.log.With("client", peer.fp, "addr", peer.addr, "op", op, "path", o.Path, "transport", transport)
	ctl.what = fmt.Sprintf("worker 0 (%s)", ctl.what)
	ctl.worker = 0

	if err := s.acquire(peer.fp); err != nil {
		ctl.Send(toWireError(err))
		log.Warn("session refused", "err", err)
		ctl.release()
		return
	}

	tf, err := s.openTarget(peer, o)
	var reserved int64
	if err == nil {
		if reserved, err = s.reserveMemory(ctx, tf, start, log); err != nil {
			tf.close(err, engine.Stats{}, log)
		}
	}
	defer s.mem.release(reserved)
	if err != nil {
		s.releaseSlot(peer.fp)
		ctl.Send(toWireError(err))
		log.Warn("session refused", "err", err)
		ctl.release()
		return
	}
	tf.p.Caps = ctl.caps // from the client's Hello, read before its Open
	// Before collect's prefetch reads from ctl: no Data frame on any stream
	// may be larger than the session's block size.
	ctl.setBlockSize(tf.p.BlockSize)
	ss, err := s.register(o.SessionID, peer, o.Path, tf.p.Workers, ctl)
	if err == nil {
		err = ctl.Send(tf.reply())
	}
	var streams []*netStream
	if err == nil {
		streams, err = s.collect(ctx, ss, ctl)
	} else {
		streams = ss.seal()
	}
	var st engine.Stats
	if err != nil {
		failStreams(streams, err)
	} else {
		for _, ns := range streams[1:] { // streams[0] is ctl
			ns.setBlockSize(tf.p.BlockSize)
		}
		for _, ns := range streams {
			ns.holdClose = true
		}
		log.Info("session started", "workers", tf.p.Workers, "bytes", tf.p.Size, "block_size", tf.p.BlockSize, "caps", tf.p.Caps)
		st, err = s.runEngine(ctx, tf, streams)
	}
	s.unregister(o.SessionID, ss)
	if err == nil {
		s.notePath(tf) // for the scrub (scrub.go)
	}
	tf.close(err, st, log) // the file is closed (undone if nothing was written) and unlocked before the client hears the end
	s.releaseSlot(peer.fp)
	defer releaseAll(streams)
	if err != nil {
		msg := "session failed"
		if brokeProtocol(err) {
			msg = "session failed: client broke the protocol; disconnected"
		}
		log.Warn(msg, "workers", tf.p.Workers, "written", st.BytesWritten, "source_read", st.SourceRead, "source_cache", st.SourceCache,
			"target_read", st.TargetRead, "target_cache", st.TargetCache, "seconds", time.Since(start).Seconds(), "err", err)
		return
	}
	log.Info("session done", "workers", tf.p.Workers, "bytes", st.BytesTotal, "written", st.BytesWritten,
		"changed_blocks", st.BlocksChanged, "similarity", st.Similarity, "verified", st.Verified,
		"dry_run", st.DryRun, "source_read", st.SourceRead, "source_cache", st.SourceCache,
		"target_read", st.TargetRead, "target_cache", st.TargetCache, "seconds", time.Since(start).Seconds())
}

// runEngine runs the server's side of the engine. A server shutdown first
// tells the client why on every stream, then cancels the engine (whose own
// report would only say "context canceled").
func (s *Server) runEngine(ctx context.Context, tf *target, streams []*netStream) (engine.Stats, error) {
	ectx, cancel := context.WithCancelCause(context.WithoutCancel(ctx))
	defer cancel(nil)
	stop := context.AfterFunc(ctx, func() {
		why := abortCause(ctx)
		for _, ns := range streams {
			ns.reportAbort(why)
		}
		cancel(why)
	})
	defer stop()
	return tf.run(ectx, streams)
}

// collect waits for every worker stream of ss, watching the control stream
// so that a client that gives up is noticed at once.
func (s *Server) collect(ctx context.Context, ss *session, ctl *netStream) ([]*netStream, error) {
	timer := time.NewTimer(s.cfg.HandshakeTimeout)
	defer timer.Stop()
	ctlDone := ctl.prefetch()
	for {
		select {
		case <-ss.ready:
			return ss.seal(), nil
		case <-ctlDone:
			ctlDone = nil
			select {
			case <-ss.ready: // every worker is in: what the client sent is the engine's to judge
				return ss.seal(), nil
			default:
			}
			m, err := ctl.prefetched()
			if err == io.EOF {
				err = errors.New("client ended the session before its worker streams attached")
			}
			if e, ok := m.(*wire.Error); ok {
				err = peerError(e)
			}
			if err != nil {
				return ss.seal(), err
			}
		case <-timer.C:
			streams := ss.seal()
			n := 0
			for _, st := range streams {
				if st != nil {
					n++
				}
			}
			return streams, codeErrorf(wire.CodeBadRequest, "only %d of %d worker streams attached within %v", n, len(streams), s.cfg.HandshakeTimeout)
		case <-ctx.Done():
			return ss.seal(), abortCause(ctx)
		}
	}
}

// brokeProtocol reports whether err is the client's fault: a frame the wire
// format refuses (a length beyond the block size…) or a message the engine
// did not expect (Data for a block outside the file or the stripe…). A
// stream cut inside a frame is not: that is a connection lost.
func brokeProtocol(err error) bool {
	var fe *wire.FormatError
	return errors.Is(err, engine.ErrProtocol) || (errors.As(err, &fe) && !errors.Is(err, wire.ErrTruncated))
}

// reportFor is the Error frame telling the client why its session failed.
func reportFor(err error) *wire.Error {
	if brokeProtocol(err) {
		return wire.NewError(wire.CodeBadRequest, err.Error())
	}
	return toWireError(err)
}

// failStreams reports err to the client on every stream and aborts them.
func failStreams(streams []*netStream, err error) {
	var pe *engine.PeerError
	report := !errors.As(err, &pe)
	for _, ns := range streams {
		if ns == nil {
			continue
		}
		if report {
			ns.Send(reportFor(err))
		}
		ns.Abort(err)
	}
}
