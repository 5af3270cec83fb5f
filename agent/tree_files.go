package agent

import (
	"path"
	"sync"

	"github.com/pdiffagent/pdiffagent/engine"
	"github.com/pdiffagent/pdiffagent/engine/tree"
	"github.com/pdiffagent/pdiffagent/wire"
)

// treeStreams are a tree session's worker streams on the server, by index
// (worker w is stream w-1): nil until attached or after its file failed,
// busy while a file runs on it. Files run side by side on disjoint sets.
type treeStreams struct {
	mu      sync.Mutex
	free    *sync.Cond // a stream stopped being busy
	streams []*netStream
	busy    []bool
	running sync.WaitGroup // the files' engine runs
}

// take marks the streams ws (1-based, distinct, in range; attached
// unless attaching) busy and returns them. A stream still busy is waited
// for: the client reuses a stream once its side of the file is done,
// which can be just before the server's side has closed the file.
func (ts *treeStreams) take(ws []uint16, attaching bool) ([]*netStream, error) {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	if len(ws) == 0 {
		return nil, codeErrorf(wire.CodeBadRequest, "no worker streams named")
	}
	seen := make(map[uint16]bool, len(ws))
	for _, w := range ws {
		switch {
		case w < 1 || int(w) > len(ts.streams):
			return nil, codeErrorf(wire.CodeBadRequest, "worker stream %d out of range 1..%d", w, len(ts.streams))
		case seen[w]:
			return nil, codeErrorf(wire.CodeBadRequest, "worker stream %d named twice", w)
		}
		seen[w] = true
	}
	for i := 0; i < len(ws); {
		if ts.busy[ws[i]-1] {
			ts.free.Wait() // bounded by that file's engine run (and its watchdog)
			i = 0
			continue
		}
		i++
	}
	out := make([]*netStream, len(ws))
	for i, w := range ws {
		if !attaching && ts.streams[w-1] == nil {
			return nil, codeErrorf(wire.CodeBadRequest, "worker stream %d is not attached (TreeAttach first)", w)
		}
		out[i] = ts.streams[w-1]
	}
	for _, w := range ws {
		ts.busy[w-1] = true
	}
	return out, nil
}

// put frees the streams ws; failed, they are aborted with err, released
// and forgotten (the client attaches new ones), and news, when not nil,
// replace them (an attach).
func (ts *treeStreams) put(ws []uint16, err error, news []*netStream) {
	var dead []*netStream
	ts.mu.Lock()
	for i, w := range ws {
		old := ts.streams[w-1]
		if (err != nil || news != nil) && old != nil {
			dead = append(dead, old)
			ts.streams[w-1] = nil
		}
		if news != nil {
			ts.streams[w-1] = news[i]
		}
		ts.busy[w-1] = false
	}
	ts.free.Broadcast()
	ts.mu.Unlock()
	for _, ns := range dead {
		if err != nil {
			ns.Abort(err)
		}
	}
	releaseAllLinger(dead, cancelLinger)
}

// drop waits for the files running and ends every stream (aborted first
// when err is set).
func (ts *treeStreams) drop(err error) {
	if err != nil {
		ts.mu.Lock()
		for _, ns := range ts.streams {
			if ns != nil {
				ns.Abort(err)
			}
		}
		ts.mu.Unlock()
	}
	ts.running.Wait()
	ts.mu.Lock()
	streams := ts.streams
	ts.streams = make([]*netStream, len(streams))
	ts.mu.Unlock()
	releaseAll(streams)
}

// attach takes a new set of worker streams for the indices req.Streams,
// attached under req.SessionID (as workers 1..k of that id): the server
// answers once registered, and again once every stream is in (or why not).
func (t *treeServer) attach(req *wire.TreeReq) error {
	ws := req.Streams
	if _, err := t.workers.take(ws, true); err != nil {
		if serr := t.ctl.Send(treeReplyErr(err)); serr != nil {
			return errTreeFatal
		}
		return err
	}
	ss, err := t.s.register(req.SessionID, t.peer, t.open.Path, len(ws)+1, t.ctl)
	if err != nil {
		ss.seal()
		t.workers.put(ws, nil, nil)
		if serr := t.ctl.Send(treeReplyErr(err)); serr != nil {
			return errTreeFatal
		}
		return err
	}
	if err := t.ctl.Send(&wire.TreeReply{}); err != nil {
		t.s.unregister(req.SessionID, ss)
		t.workers.put(ws, nil, nil)
		return errTreeFatal
	}
	streams, err := t.s.collect(t.ctx, ss, t.ctl)
	t.s.unregister(req.SessionID, ss)
	news := streams[1:] // streams[0] is the control stream
	if err != nil {
		failStreams(news, err)
		releaseAll(news)
		t.workers.put(ws, nil, nil)
		if serr := t.ctl.Send(treeReplyErr(err)); serr != nil {
			return errTreeFatal
		}
		return err
	}
	for _, ns := range news {
		ns.setBlockSize(t.p.BlockSize)
		ns.holdClose = true // the streams outlive each file's engine run
	}
	t.workers.put(ws, nil, news)
	if err := t.ctl.Send(&wire.TreeReply{}); err != nil {
		return errTreeFatal
	}
	return nil
}

// file syncs one regular file of the tree: opened through the server's
// opener as a single-file push would be (jail, locks, hard-link guard,
// room, read-only), answered, then received over the worker streams it
// names, in a goroutine of its own, while the control stream serves the
// next requests. A file that fails costs its worker streams (the engine
// aborted them): the client attaches new ones.
func (t *treeServer) file(req *wire.TreeReq) error {
	tf, streams, rel, err := t.openFile(req, wire.OpPush)
	if err != nil {
		return err
	}
	return t.run(tf, req, rel, streams, &wire.TreeReply{})
}

// get sends one regular file of the tree (a pull): opened through the
// server's opener as a single-file pull would be (jail, shared lock,
// hard-link guard), described in the answer, then sent over the worker
// streams it names, in a goroutine of its own.
func (t *treeServer) get(req *wire.TreeReq) error {
	tf, streams, rel, err := t.openFile(req, wire.OpPull)
	if err != nil {
		return err
	}
	reply := &wire.TreeReply{Entry: wire.TreeEntry{Kind: 1, Size: tf.src.Size, ModTime: tf.src.ModTime, Mode: uint32(tf.src.Mode)}}
	return t.run(tf, req, rel, streams, reply)
}

// openFile opens req's file for op (a push's target, a pull's source) on
// the worker streams req names, which it takes; a refusal is answered
// here, and the streams are given back.
func (t *treeServer) openFile(req *wire.TreeReq, op wire.Op) (*target, []*netStream, string, error) {
	rel, err := cleanRelPath(req.Path)
	var (
		tf      *target
		streams []*netStream
	)
	if err == nil {
		streams, err = t.workers.take(req.Streams, false)
	}
	if err == nil {
		o := *t.open
		o.Op, o.Path, o.Workers = op, path.Join(t.rel, rel), uint16(len(streams))
		if op == wire.OpPush {
			o.Size, o.ModTime, o.Mode = req.Size, req.ModTime, req.Mode
		} else {
			o.Flags &^= wire.FlagAtomic | wire.FlagOwner
		}
		if tf, err = t.s.openTarget(t.peer, &o); err != nil {
			t.workers.put(req.Streams, nil, nil)
		}
	}
	if err != nil {
		if serr := t.ctl.Send(treeReplyErr(err)); serr != nil {
			return nil, nil, "", errTreeFatal
		}
	}
	return tf, streams, rel, err
}

// run answers a file's request with reply, then runs the engine on the
// file's streams in a goroutine, while the control stream goes on.
func (t *treeServer) run(tf *target, req *wire.TreeReq, rel string, streams []*netStream, reply *wire.TreeReply) error {
	tf.p.Caps = t.p.Caps
	// The client's TreeFlush makes the tree durable at once; the records
	// wait for it (t.rec, tree_records.go): none may trust data not yet
	// on disk (engine/tree/doc.go).
	tf.eopt.DeferSync, tf.eopt.Records = true, t.rec
	tf.eopt.Search = &t.search // a pull's files: one search streak (engine.SearchShare)
	tf.eopt.Recv = &t.recv     // a push's: one refinement and keeping streak (engine.RecvShare)
	if !tree.Recorded(tf.p.Size, tf.p.BlockSize) {
		tf.eopt.Cache, tf.eopt.Records = nil, nil
	}
	if err := t.ctl.Send(reply); err != nil {
		tf.close(err, engine.Stats{}, t.log)
		t.workers.put(req.Streams, err, nil)
		return errTreeFatal
	}
	t.workers.running.Add(1)
	go func() {
		defer t.workers.running.Done()
		st, err := t.s.runEngine(t.ctx, tf, streams)
		tf.close(err, st, t.log)
		if err != nil {
			t.log.Debug("tree file failed", "path", rel, "err", err)
		}
		t.workers.put(req.Streams, err, nil)
	}()
	return nil
}
