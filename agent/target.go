package agent

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/pdiffagent/pdiffagent/engine"
	"github.com/pdiffagent/pdiffagent/sysio"
	"github.com/pdiffagent/pdiffagent/wire"
)

// target is the server's file of a session, opened and locked through the
// session's serverOpener (opener.go) by the engine's lifecycle
// (engine.OpenTarget, engine.OpenSource).
type target struct {
	op     wire.Op
	rel    string // the file beneath the root
	p      engine.Params
	opener *serverOpener
	tgt    *engine.Target // push; its File is nil for a dry run against a missing file
	src    *engine.Source // pull
	idle   time.Duration  // the session watchdog's timeout (watchdog.go)
	client string         // the client, as the watchdog's error names it
	eopt   engine.Options // the server's read options (ServerConfig.engineOptions)
}

// openTarget validates an Open and opens its file beneath the root.
func (s *Server) openTarget(peer peerIdentity, o *wire.Open) (*target, error) {
	rel, err := cleanRelPath(o.Path)
	if err != nil {
		return nil, err
	}
	p := paramsFromOpen(o, s.cfg.MaxWorkers)
	eopt := s.cfg.engineOptions()
	t := &target{op: o.Op, rel: rel, opener: &serverOpener{s: s, direct: eopt.Direct}, idle: s.cfg.IdleTimeout,
		client: "client " + peer.addr, eopt: eopt}
	switch o.Op {
	case wire.OpPush:
		if t.p, err = bindParams(p, o.Size); err != nil {
			return nil, err
		}
		switch {
		case s.cfg.ReadOnly:
			return nil, codeErrorf(wire.CodeDenied, "server is read-only: pushes are refused")
		case peer.readOnly:
			return nil, codeErrorf(wire.CodeDenied, "this client may only pull from this server (read-only)")
		case p.Owner && !s.cfg.AllowOwner:
			return nil, codeErrorf(wire.CodeDenied, "this server does not apply a client's owner and group (--owner needs listen --allow-owner)")
		}
		// The opener checks the room the push needs (space.go).
		t.opener.size, t.opener.end = t.p.Size, t.p.End
		atomic := o.Flags&wire.FlagAtomic != 0
		if t.tgt, err = engine.OpenTarget(s.ctx, t.opener, rel, p.DryRun, atomic); err != nil {
			t.close(err, engine.Stats{}, nil)
			return nil, ioError(rel, err)
		}
		if err := t.tgt.Create(); err != nil {
			t.close(err, engine.Stats{}, nil)
			return nil, ioError(rel, err)
		}
	case wire.OpPull:
		if t.src, err = engine.OpenSource(t.opener, rel); err != nil {
			t.close(err, engine.Stats{}, nil)
			return nil, ioError(rel, err)
		}
		if t.p, err = bindParams(p, t.src.Size); err != nil {
			t.close(err, engine.Stats{}, nil)
			return nil, err
		}
	default:
		return nil, codeErrorf(wire.CodeBadRequest, "unknown operation %d", o.Op)
	}
	return t, nil
}

// ioError is err as the client is told it: the jail's and the opener's
// errors say what they mean; anything else is an I/O error on rel.
func ioError(rel string, err error) error {
	var ce *codeError
	if errors.As(err, &ce) {
		return err
	}
	return codeErrorf(wire.CodeIO, "%s: %v", rel, err)
}

// reply is the OpenReply for the session; call it once t.p.Caps are set.
func (t *target) reply() *wire.OpenReply {
	r := &wire.OpenReply{Workers: uint16(t.p.Workers)}
	if t.src != nil {
		r.Size, r.ModTime, r.Mode = t.src.Size, t.src.ModTime, uint32(t.src.Mode)
	}
	if t.tgt != nil { // a push to a target whose record may say it is the source already
		if d, ok := engine.RecordDigest(t.tgt, t.p, t.eopt); ok {
			r.RecordDigest = d
		}
	}
	return r
}

// run is the server's side of the engine, watched for a client that
// stops answering (watchdog.go).
func (t *target) run(ctx context.Context, streams []*netStream) (st engine.Stats, err error) {
	wd := startWatchdog(t.idle, peerReasonGrace, t.client, streams)
	defer func() {
		if werr := wd.Stop(); werr != nil && err != nil {
			err = werr
		}
	}()
	es := make([]engine.Stream, len(streams))
	for i, ns := range streams {
		es[i] = engine.ThrottleStream(wd.wrap(ns), t.eopt.Link)
	}
	if t.op == wire.OpPull {
		return engine.Send(ctx, t.src, t.p, es, t.eopt)
	}
	return engine.ReceiveTarget(ctx, t.tgt, t.p, es, t.eopt) // commits an atomic push before its FinalAck
}

// close closes the file and releases its lock. The engine removes an
// atomic push's temporary file unless it was renamed, and leaves the
// target of a push that failed before writing a block as it found it
// (engine.Target.Close); log, when not nil, hears what could not be undone
// and about a target a failed push partly updated.
func (t *target) close(err error, st engine.Stats, log *slog.Logger) {
	if t.tgt != nil {
		partly := err != nil && !t.p.DryRun && !t.tgt.Atomic() && (st.BytesWritten > 0 || st.BlocksZero > 0)
		if cerr := t.tgt.Close(err, st); cerr != nil && log != nil {
			log.Warn("closing the target", "err", cerr)
		}
		if partly && log != nil {
			log.Warn("target partly updated: the failed session had written blocks to it", "written", st.BytesWritten)
		}
		t.tgt = nil
	}
	if t.src != nil {
		t.src.File.Close()
		t.src = nil
	}
	t.opener.unlock()
}

// engineOptions are the engine.Options of the server's side of a session.
func (c *ServerConfig) engineOptions() engine.Options {
	o := engine.Options{ReadPath: c.ReadPath, Cache: c.Cache, Link: c.Link, ReadLimit: c.ReadLimit}
	if c.DirectRead {
		o.Direct = sysio.DirectOn
	}
	return o
}
