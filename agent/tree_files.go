package agent

import (
	"path"

	"github.com/pdiffagent/pdiffagent/engine"

	"github.com/pdiffagent/pdiffagent/wire"
)

// attach takes a new set of worker streams, attached under id (the
// client's TreeAttach): the server answers once registered, and again
// once every stream is in (or why not).
func (t *treeServer) attach(id [wire.SessionIDSize]byte) error {
	t.dropWorkers(nil)
	ss, err := t.s.register(id, t.peer, t.open.Path, t.p.Workers+1, t.ctl)
	if err != nil {
		ss.seal()
		if serr := t.ctl.Send(treeReplyErr(err)); serr != nil {
			return errTreeFatal
		}
		return err
	}
	if err := t.ctl.Send(&wire.TreeReply{}); err != nil {
		t.s.unregister(id, ss)
		return errTreeFatal
	}
	streams, err := t.s.collect(t.ctx, ss, t.ctl)
	t.s.unregister(id, ss)
	workers := streams[1:] // streams[0] is the control stream
	if err != nil {
		failStreams(workers, err)
		releaseAll(workers)
		if serr := t.ctl.Send(treeReplyErr(err)); serr != nil {
			return errTreeFatal
		}
		return err
	}
	for _, ns := range workers {
		ns.setBlockSize(t.p.BlockSize)
		ns.holdClose = true // the streams outlive each file's engine run
	}
	t.workers = workers
	if err := t.ctl.Send(&wire.TreeReply{}); err != nil {
		return errTreeFatal
	}
	return nil
}

// dropWorkers ends the worker streams (aborted first when err is set).
func (t *treeServer) dropWorkers(err error) {
	if t.workers == nil {
		return
	}
	if err != nil {
		for _, ns := range t.workers {
			ns.Abort(err)
		}
	}
	releaseAll(t.workers)
	t.workers = nil
}

// file syncs one regular file of the tree: opened through the server's
// opener as a single-file push would be (jail, locks, hard-link guard,
// room, read-only), answered, then received over the worker streams. A
// file that fails costs its worker streams (the engine aborted them): the
// client attaches new ones for its next file.
func (t *treeServer) file(req *wire.TreeReq) error {
	rel, err := cleanRelPath(req.Path)
	var tf *target
	if err == nil && t.workers == nil {
		err = codeErrorf(wire.CodeBadRequest, "%s: no worker streams attached (TreeAttach first)", rel)
	}
	if err == nil {
		o := *t.open
		o.Op, o.Path, o.Size, o.ModTime, o.Mode = wire.OpPush, path.Join(t.rel, rel), req.Size, req.ModTime, req.Mode
		o.Workers = uint16(t.p.Workers)
		tf, err = t.s.openTarget(t.peer, &o)
	}
	if err != nil {
		if serr := t.ctl.Send(treeReplyErr(err)); serr != nil {
			return errTreeFatal
		}
		return err
	}
	tf.p.Caps = t.p.Caps
	tf.eopt.DeferSync = true // the client's TreeFlush makes the tree durable at once
	if err := t.ctl.Send(&wire.TreeReply{}); err != nil {
		tf.close(err, engine.Stats{}, t.log)
		return errTreeFatal
	}
	st, err := t.s.runEngine(t.ctx, tf, t.workers)
	tf.close(err, st, t.log)
	if err != nil {
		t.dropWorkers(err)
	}
	return err
}
