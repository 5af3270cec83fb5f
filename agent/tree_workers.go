package agent

import (
	"context"
	"crypto/rand"
	"errors"
	"sync"

	"github.com/pdiffagent/pdiffagent/engine"
	"github.com/pdiffagent/pdiffagent/engine/tree"
	"github.com/pdiffagent/pdiffagent/wire"
)

// SyncFile runs one file over the session's worker streams: the server
// opens its target (TreeFile), then the engine runs as for a single-file
// push. Files run one after another, each striped across every worker
// stream. The streams outlive a file that succeeds; a failed file's
// engine aborts them, and the next file attaches new ones (TreeAttach),
// so a failure costs its own file, never the session. The tree's Atomic
// is the session's (wire.FlagAtomic in its Open).
func (r *remoteTarget) SyncFile(ctx context.Context, sp, path string, _, _ tree.Entry, _ engine.Params, opt engine.Options, _ bool) (engine.Stats, error) {
	src, err := engine.OpenSource(engine.LocalOpener{Direct: opt.Direct}, sp)
	if err != nil {
		return engine.Stats{}, err
	}
	defer src.File.Close()
	p, err := r.p.Bind(src.Size)
	if err != nil {
		return engine.Stats{}, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.workers == nil {
		if err := r.attach(ctx); err != nil {
			return engine.Stats{}, err
		}
	}
	_, err = r.request(&wire.TreeReq{Op: wire.TreeFile, Path: path, Size: src.Size, ModTime: src.ModTime, Mode: uint32(src.Mode)})
	if err != nil {
		return engine.Stats{}, err
	}
	wd := startWatchdog(r.c.cfg.IdleTimeout, 0, "server "+r.c.hostport, r.workers)
	es := make([]engine.Stream, len(r.workers))
	for i, ns := range r.workers {
		es[i] = engine.ThrottleStream(wd.wrap(ns), r.c.cfg.Link)
	}
	st, err := engine.Send(ctx, src, p, es, opt)
	if werr := wd.Stop(); werr != nil && err != nil {
		err = werr
	}
	if err != nil {
		r.dropWorkers(err)
	}
	return st, err
}

// attach opens a new set of worker streams: TreeAttach names their
// session id, the server answers once it is registered, each stream sends
// its Attach, and the server answers again once all are in. The caller
// holds mu.
func (r *remoteTarget) attach(ctx context.Context) error {
	var id [wire.SessionIDSize]byte
	if _, err := rand.Read(id[:]); err != nil {
		return err
	}
	if _, err := r.request(&wire.TreeReq{Op: wire.TreeAttach, SessionID: id}); err != nil {
		return err
	}
	n := r.p.Workers
	streams := make([]*netStream, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ns, err := r.c.openStream(ctx, i+1)
			if err == nil {
				err = ns.Send(&wire.Attach{SessionID: id, Worker: uint16(i + 1)})
			}
			streams[i], errs[i] = ns, err
		}()
	}
	wg.Wait()
	// The server's second answer: every stream in, or why not.
	m, err := r.recv()
	if err == nil {
		if reply, ok := m.(*wire.TreeReply); !ok {
			err = errors.New("server sent " + m.Type().String() + ", want TreeReply")
			r.broken = err
		} else if reply.Code != 0 {
			err = &engine.PeerError{Code: reply.Code, Message: reply.Message}
		}
	}
	if err = errors.Join(append(errs, err)...); err != nil {
		for _, ns := range streams {
			if ns != nil {
				ns.Abort(err)
			}
		}
		releaseAllLinger(streams, cancelLinger)
		return err
	}
	for _, ns := range streams {
		ns.setBlockSize(r.p.BlockSize)
		ns.holdClose = true // the streams outlive each file's engine run
	}
	r.workers = streams
	return nil
}

// dropWorkers aborts and frees the worker streams of a failed file.
func (r *remoteTarget) dropWorkers(err error) {
	for _, ns := range r.workers {
		ns.Abort(err)
	}
	releaseAllLinger(r.workers, cancelLinger)
	r.workers = nil
}
