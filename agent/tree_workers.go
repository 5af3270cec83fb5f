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

// streamPool is the client's worker streams of a tree session, by index
// (stream i is the server's worker i+1): nil until first used, or after
// the file that ran on it failed. A file takes the streams it needs, all
// at once, so files run side by side on disjoint sets.
type streamPool struct {
	mu      sync.Mutex
	cond    *sync.Cond
	streams []*netStream
	busy    []bool
	nbusy   int
}

func newStreamPool(n int) *streamPool {
	p := &streamPool{streams: make([]*netStream, n), busy: make([]bool, n)}
	p.cond = sync.NewCond(&p.mu)
	return p
}

// take waits until k streams are free and takes them: the attached first.
func (p *streamPool) take(k int) []int {
	p.mu.Lock()
	defer p.mu.Unlock()
	for len(p.streams)-p.nbusy < k {
		p.cond.Wait()
	}
	var idx []int
	for pass := 0; pass < 2 && len(idx) < k; pass++ {
		for i := range p.streams {
			if len(idx) == k {
				break
			}
			if !p.busy[i] && (pass == 1 || p.streams[i] != nil) {
				p.busy[i] = true
				idx = append(idx, i)
			}
		}
	}
	p.nbusy += k
	return idx
}

// put frees the streams idx; a failed file's (err set) are aborted,
// released and forgotten.
func (p *streamPool) put(idx []int, err error) {
	var dead []*netStream
	p.mu.Lock()
	for _, i := range idx {
		if err != nil && p.streams[i] != nil {
			dead = append(dead, p.streams[i])
			p.streams[i] = nil
		}
		p.busy[i] = false
	}
	p.nbusy -= len(idx)
	p.cond.Broadcast()
	p.mu.Unlock()
	for _, ns := range dead {
		ns.Abort(err)
	}
	releaseAllLinger(dead, cancelLinger)
}

// SyncFile runs one file over worker streams of the session: as many as
// the scheduler gave it (p.Workers: one for a small file, every one for a
// large file, which the engine stripes across them), taken from the pool,
// attached first where they are not (TreeAttach), then the server opens
// its target (TreeFile) and the engine runs as for a single-file push.
// Files run side by side; the control stream is held only for each
// request and answer. A failed file's engine aborts its streams, which are
// attached anew for a later file: a failure costs its own file, never the
// session. The tree's Atomic is the session's (wire.FlagAtomic in its
// Open).
func (r *remoteTarget) SyncFile(ctx context.Context, sp, path string, _, _ tree.Entry, fp engine.Params, opt engine.Options, _ bool) (engine.Stats, error) {
	src, err := engine.OpenSource(engine.LocalOpener{Direct: opt.Direct}, sp)
	if err != nil {
		return engine.Stats{}, err
	}
	defer src.File.Close()
	k := min(max(fp.Workers, 1), len(r.pool.streams))
	p := r.p
	p.Workers = k
	if p, err = p.Bind(src.Size); err != nil {
		return engine.Stats{}, err
	}
	idx, ws, streams, err := r.takeStreams(ctx, k)
	if err != nil {
		return engine.Stats{}, err
	}
	if err := r.op(&wire.TreeReq{Op: wire.TreeFile, Path: path, Size: src.Size, ModTime: src.ModTime, Mode: uint32(src.Mode), Streams: ws}); err != nil {
		r.pool.put(idx, nil)
		return engine.Stats{}, err
	}
	wd, es := r.watch(streams)
	st, err := engine.Send(ctx, src, p, es, opt)
	if werr := wd.Stop(); werr != nil && err != nil {
		err = werr
	}
	r.pool.put(idx, err)
	return st, err
}

// attach returns the streams idx (which the caller has taken), attaching
// those that are not: TreeAttach names their indices and a fresh session
// id, the server answers once it is registered, each stream sends its
// Attach, and the server answers again once all are in.
func (r *remoteTarget) attach(ctx context.Context, idx []int) ([]*netStream, error) {
	streams := make([]*netStream, len(idx))
	var missing []int // positions in idx
	r.pool.mu.Lock()
	for i, j := range idx {
		if streams[i] = r.pool.streams[j]; streams[i] == nil {
			missing = append(missing, i)
		}
	}
	r.pool.mu.Unlock()
	if len(missing) == 0 {
		return streams, nil
	}
	var id [wire.SessionIDSize]byte
	if _, err := rand.Read(id[:]); err != nil {
		return nil, err
	}
	ws := make([]uint16, len(missing))
	for i, m := range missing {
		ws[i] = uint16(idx[m] + 1)
	}
	r.mu.Lock() // the control stream, until the server's second answer
	defer r.mu.Unlock()
	if _, err := r.request(&wire.TreeReq{Op: wire.TreeAttach, SessionID: id, Streams: ws}); err != nil {
		return nil, err
	}
	news := make([]*netStream, len(missing))
	errs := make([]error, len(missing))
	var wg sync.WaitGroup
	for i := range missing {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ns, err := r.c.openStream(ctx, idx[missing[i]]+1)
			if err == nil {
				err = ns.Send(&wire.Attach{SessionID: id, Worker: uint16(i + 1)})
			}
			news[i], errs[i] = ns, err
		}()
	}
	wg.Wait()
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
		for _, ns := range news {
			if ns != nil {
				ns.Abort(err)
			}
		}
		releaseAllLinger(news, cancelLinger)
		return nil, err
	}
	r.pool.mu.Lock()
	for i, m := range missing {
		news[i].setBlockSize(r.p.BlockSize)
		news[i].holdClose = true // the streams outlive each file's engine run
		r.pool.streams[idx[m]] = news[i]
		streams[m] = news[i]
	}
	r.pool.mu.Unlock()
	return streams, nil
}

// fetch brings the local file dp up to date with the server's file sp
// (a pull: tree.SyncFrom's Fetch), on worker streams of the session as
// SyncFile does: the local target is opened first, then the server opens
// its source (TreeGet), describes it, and sends it.
func (r *remoteTarget) fetch(ctx context.Context, sp, dp string, _, _ tree.Entry, fp engine.Params, opt engine.Options, atomic bool) (st engine.Stats, err error) {
	t, err := engine.OpenTarget(ctx, engine.LocalOpener{Direct: opt.Direct}, dp, r.p.DryRun, atomic)
	if err != nil {
		return engine.Stats{}, err
	}
	defer func() { t.Close(err, st) }()
	k := min(max(fp.Workers, 1), len(r.pool.streams))
	idx, ws, streams, err := r.takeStreams(ctx, k)
	if err != nil {
		return engine.Stats{}, err
	}
	r.mu.Lock()
	reply, err := r.request(&wire.TreeReq{Op: wire.TreeGet, Path: sp, Streams: ws})
	r.mu.Unlock()
	if err != nil {
		r.pool.put(idx, nil)
		return engine.Stats{}, err
	}
	// From here the server runs its side: a failure must abort the streams.
	p := r.p
	p.Workers = k
	if p, err = p.Bind(reply.Entry.Size); err == nil {
		err = t.Create()
	}
	if err != nil {
		r.pool.put(idx, err)
		return engine.Stats{}, err
	}
	wd, es := r.watch(streams)
	st, err = engine.ReceiveTarget(ctx, t, p, es, opt)
	if werr := wd.Stop(); werr != nil && err != nil {
		err = werr
	}
	r.pool.put(idx, err)
	return st, err
}

// takeStreams takes k worker streams from the pool, attached: their pool
// indices, their numbers on the wire (TreeReq.Streams) and the streams.
// On failure they are back in the pool.
func (r *remoteTarget) takeStreams(ctx context.Context, k int) ([]int, []uint16, []*netStream, error) {
	idx := r.pool.take(k)
	streams, err := r.attach(ctx, idx)
	if err != nil {
		r.pool.put(idx, err)
		return nil, nil, nil, err
	}
	ws := make([]uint16, k)
	for i, j := range idx {
		ws[i] = uint16(j + 1)
	}
	return idx, ws, streams, nil
}

// watch is a file's streams as the engine gets them: watched for a
// server that stops answering, and paced by the session's --bwlimit.
func (r *remoteTarget) watch(streams []*netStream) (*watchdog, []engine.Stream) {
	wd := startWatchdog(r.c.cfg.IdleTimeout, 0, "server "+r.c.hostport, streams)
	es := make([]engine.Stream, len(streams))
	for i, ns := range streams {
		es[i] = engine.ThrottleStream(wd.wrap(ns), r.c.cfg.Link)
	}
	return wd, es
}
