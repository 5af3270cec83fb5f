package agent

import (
	"context"
	"errors"
	"os"
	"time"

	"github.com/pdiffagent/pdiffagent/engine"
	"github.com/pdiffagent/pdiffagent/sysio"
	"github.com/pdiffagent/pdiffagent/wire"
)

// target is the server's file of a session, opened and locked.
type target struct {
	op      wire.Op
	p       engine.Params
	file    *sysio.File        // nil for a dry-run push to a missing file
	src     *engine.Source     // pull
	repl    *sysio.Replacement // an atomic push: file is its temporary file (atomic.go)
	key     fileKey
	locked  bool
	unlock  func(fileKey)
	idle    time.Duration  // the session watchdog's timeout (watchdog.go)
	client  string         // the client, as the watchdog's error names it
	rel     string         // the cleaned path
	created bool           // a push created the file (space.go: undone on failure)
	oldSize int64          // its size when opened
	eopt    engine.Options // the server's read options (ServerConfig.engineOptions)
}

// openTarget validates an Open and opens its file beneath the root.
func (s *Server) openTarget(peer peerIdentity, o *wire.Open) (*target, error) {
	rel, err := cleanRelPath(o.Path)
	if err != nil {
		return nil, err
	}
	p := paramsFromOpen(o, s.cfg.MaxWorkers)
	if o.Op == wire.OpPush {
		if p, err = bindParams(p, o.Size); err != nil {
			return nil, err
		}
	}
	t := &target{op: o.Op, p: p, unlock: s.locks.unlock, idle: s.cfg.IdleTimeout, client: "client " + peer.addr, rel: rel,
		eopt: s.cfg.engineOptions()}
	var f *os.File
	switch o.Op {
	case wire.OpPush:
		switch {
		case s.cfg.ReadOnly:
			return nil, codeErrorf(wire.CodeDenied, "server is read-only: pushes are refused")
		case peer.readOnly:
			return nil, codeErrorf(wire.CodeDenied, "this client may only pull from this server (read-only)")
		}
		if p.DryRun {
			f, t.key, err = s.jail.open(rel, openRead)
			var ce *codeError
			if errors.As(err, &ce) && ce.code == wire.CodeNotFound {
				if perr := s.jail.parentExists(rel); perr != nil {
					return nil, perr
				}
				return t, nil // nothing to compare against, nothing written
			}
		} else if o.Flags&wire.FlagAtomic != 0 {
			return s.openAtomic(t, rel)
		} else {
			f, t.key, err = s.openInPlace(t, rel)
		}
	case wire.OpPull:
		f, t.key, err = s.jail.open(rel, openRead)
	default:
		return nil, codeErrorf(wire.CodeBadRequest, "unknown operation %d", o.Op)
	}
	if err != nil {
		return nil, err
	}
	if err := checkLinks(f, rel, s.cfg.AllowHardlinks); err != nil {
		f.Close()
		return nil, err
	}
	write := o.Op == wire.OpPush && !p.DryRun
	if !s.locks.tryLock(t.key, write) {
		f.Close()
		return nil, codeErrorf(wire.CodeBusy, "%s is busy with another transfer", rel)
	}
	t.locked = true
	if t.file, err = sysio.FromOS(f, sysio.Options{Direct: t.eopt.Direct}); err != nil {
		t.close()
		return nil, codeErrorf(wire.CodeIO, "%s: %v", rel, err)
	}
	if o.Op == wire.OpPull {
		if t.src, err = engine.NewSource(t.file); err != nil {
			t.close()
			return nil, codeErrorf(wire.CodeIO, "%s: stat: %v", rel, err)
		}
		if t.p, err = bindParams(t.p, t.src.Size); err != nil {
			t.close()
			return nil, err
		}
	}
	return t, nil
}

// reply is the OpenReply for the session.
func (t *target) reply() *wire.OpenReply {
	r := &wire.OpenReply{Workers: uint16(t.p.Workers)}
	if t.src != nil {
		r.Size, r.ModTime, r.Mode = t.src.Size, t.src.ModTime, uint32(t.src.Mode)
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
		es[i] = wd.wrap(ns)
	}
	if t.op == wire.OpPull {
		return engine.Send(ctx, t.src, t.p, es, t.eopt)
	}
	if t.repl != nil {
		es[0] = &commitStream{Stream: es[0], commit: t.repl.Commit}
	}
	return engine.Receive(ctx, t.file, t.p, es, t.eopt)
}

// close closes the file (an atomic push's temporary file is removed unless
// it was renamed) and releases its lock.
func (t *target) close() {
	if t.repl != nil {
		t.repl.Close()
		t.repl, t.file = nil, nil
	}
	if t.file != nil {
		t.file.Close()
		t.file = nil
	}
	if t.locked {
		t.unlock(t.key)
		t.locked = false
	}
}

// engineOptions are the engine.Options of the server's side of a session.
func (c *ServerConfig) engineOptions() engine.Options {
	o := engine.Options{ReadPath: c.ReadPath}
	if c.DirectRead {
		o.Direct = sysio.DirectOn
	}
	return o
}
