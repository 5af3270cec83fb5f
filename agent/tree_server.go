package agent

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/pdiffagent/pdiffagent/engine"
	"github.com/pdiffagent/pdiffagent/engine/cache"
	"github.com/pdiffagent/pdiffagent/wire"
)

// treeServer is the server's side of a tree session (wire.OpTree): it
// answers the client's TreeReq messages one at a time, on the control
// stream, inside the tree's directory opened as an os.Root beneath the
// server's root (no "..", no absolute name, no symlink leads out of it),
// and runs the engine for each TreeFile over the session's worker
// streams. It holds no more than one request, one directory's listing
// (sorted in bounded memory, tree.ReadNames, and sent in batches) and the
// files in flight on its worker streams, whatever the client sends.
type treeServer struct {
	s       *Server
	ctx     context.Context
	peer    peerIdentity
	open    *wire.Open // the session's: its parameters and flags apply to every file
	rel     string     // the tree's directory beneath the server's root
	ctl     *netStream
	tr      *os.Root // nil in a dry run whose directory does not exist
	p       engine.Params
	log     *slog.Logger
	workers treeStreams
	pull    bool               // a pull: the session reads the tree, never writes it
	rec     *cache.Deferred    // the files' block-hash records (tree_records.go)
	search  engine.SearchShare // a pull's rolling-search streak, over its files
	recv    engine.RecvShare   // a push's: the receiver's streaks, over its files
}

// serveTree runs a tree session from its Open to its end.
func (s *Server) serveTree(ctx context.Context, ctl *netStream, peer peerIdentity, o *wire.Open, transport string) {
	start := time.Now()
	log := s.log.With("client", peer.fp, "addr", peer.addr, "op", "tree", "path", o.Path, "transport", transport)
	ctl.what = "control (" + ctl.what + ")"
	defer ctl.release()
	// A server shutting down tells the client and ends the session.
	stop := context.AfterFunc(ctx, func() { ctl.reportAbort(abortCause(ctx)) })
	defer stop()
	if err := s.acquire(peer.fp); err != nil {
		ctl.Send(toWireError(err))
		log.Warn("session refused", "err", err)
		return
	}
	defer s.releaseSlot(peer.fp)
	t := &treeServer{s: s, ctx: ctx, peer: peer, open: o, ctl: ctl, log: log}
	reserved, err := t.start(start)
	defer s.mem.release(reserved)
	if t.tr != nil {
		defer t.tr.Close()
	}
	t.deferRecords()
	if err != nil {
		ctl.Send(toWireError(err))
		log.Warn("session refused", "err", err)
		return
	}
	if err := ctl.Send(&wire.OpenReply{Workers: uint16(t.p.Workers)}); err != nil {
		return
	}
	log.Info("tree session started", "workers", t.p.Workers, "caps", t.p.Caps)
	files, failed := 0, 0
	// end drops the files' streams, settles the records and logs the end
	// (failed: the client broke the protocol or sent an error).
	end := func(err error, failedSession bool) {
		t.workers.drop(err)
		t.endRecords(err)
		if failedSession {
			log.Warn("tree session failed", "err", err)
			return
		}
		log.Info("tree session ended", "files", files, "failed", failed, "seconds", time.Since(start).Seconds(), "err", err)
	}
	for {
		m, err := ctl.Recv()
		if err != nil || ctx.Err() != nil {
			if err == io.EOF {
				err = nil
			}
			if ctx.Err() != nil {
				ctl.Send(toWireError(abortCause(ctx)))
				err = abortCause(ctx)
			}
			end(err, false)
			return
		}
		req, ok := m.(*wire.TreeReq)
		if !ok {
			if e, isErr := m.(*wire.Error); isErr {
				err = peerError(e)
			} else {
				err = codeErrorf(wire.CodeBadRequest, "expected TreeReq, got %s", m.Type())
				ctl.Send(toWireError(err))
			}
			end(err, true)
			return
		}
		if req.Op == wire.TreeFile {
			files++
		}
		if err := t.handle(req); err != nil {
			if req.Op == wire.TreeFile {
				failed++
			}
			log.Debug("tree request failed", "op", req.Op, "path", req.Path, "err", err)
			if errors.Is(err, errTreeFatal) {
				// The control stream broke (a client gone while a reply
				// was sent): end as at its EOF, files and records too.
				// This returned at once, leaving the files' streams to
				// their own errors and no "tree session ended" line.
				end(err, false)
				return
			}
		}
	}
}

// errTreeFatal ends the session: the control stream broke.
var errTreeFatal = errors.New("control stream broke")

// start checks the Open, reserves the workers' memory and opens the tree's
// directory (made, mode 0700, if missing: its parent must exist).
func (t *treeServer) start(opened time.Time) (int64, error) {
	s, o := t.s, t.open
	rel, err := cleanRelPath(o.Path)
	if err != nil {
		return 0, err
	}
	t.rel = rel
	t.p = paramsFromOpen(o, s.cfg.MaxWorkers)
	t.p.Caps = t.ctl.caps
	t.pull = o.Op == wire.OpTreePull
	switch {
	case t.pull:
	case s.cfg.ReadOnly:
		return 0, codeErrorf(wire.CodeDenied, "server is read-only: pushes are refused")
	case t.peer.readOnly:
		return 0, codeErrorf(wire.CodeDenied, "this client may only pull from this server (read-only)")
	case t.p.Owner && !s.cfg.AllowOwner:
		return 0, codeErrorf(wire.CodeDenied, "this server does not apply a client's owner and group (--owner needs listen --allow-owner)")
	}
	if t.p.Session, err = t.p.Session.Normalize(); err != nil {
		return 0, codeErrorf(wire.CodeBadRequest, "%v", err)
	}
	tf := &target{op: wire.OpPush, p: t.p}
	if t.pull {
		tf.op = wire.OpPull
	}
	reserved, err := s.reserveMemory(t.ctx, tf, opened, t.log)
	if err != nil {
		return 0, err
	}
	t.p.Workers = tf.p.Workers
	t.workers.streams = make([]*netStream, t.p.Workers)
	t.workers.busy = make([]bool, t.p.Workers)
	t.workers.free = sync.NewCond(&t.workers.mu)
	root, err := os.OpenRoot(s.cfg.Root)
	if err != nil {
		return reserved, codeErrorf(wire.CodeIO, "server root: %v", err)
	}
	defer root.Close()
	if !t.p.DryRun && !t.pull {
		if err := root.MkdirAll(rel, 0o755); err != nil {
			return reserved, treeError(rel, err)
		}
	}
	if t.tr, err = root.OpenRoot(rel); err != nil && !(t.p.DryRun && !t.pull && errors.Is(err, fs.ErrNotExist)) {
		return reserved, treeError(rel, err)
	}
	return reserved, nil
}

// handle answers one request. An error other than errTreeFatal is the
// request's own: it was reported to the client, and the session goes on.
func (t *treeServer) handle(req *wire.TreeReq) error {
	var (
		reply *wire.TreeReply
		err   error
	)
	switch {
	case req.Op == wire.TreeList:
		return t.list(req.Path, req.Flags&wire.TreeListRecords != 0)
	case req.Op == wire.TreeAttach:
		return t.attach(req)
	case req.Op == wire.TreeFile && !t.pull:
		return t.file(req)
	case req.Op == wire.TreeGet && t.pull:
		return t.get(req)
	case req.Op == wire.TreeStat, req.Op == wire.TreeFlush, !t.pull && req.Op != wire.TreeGet:
		reply, err = t.entryOp(req)
	default:
		err = codeErrorf(wire.CodeBadRequest, "tree op %d does not belong in a %s session", req.Op, t.open.Op)
	}
	if err != nil {
		reply = treeReplyErr(err)
	}
	if serr := t.ctl.Send(reply); serr != nil {
		return errTreeFatal
	}
	if req.Op == wire.TreeFlush && err == nil {
		t.commitRecords() // the tree is durable; the client need not wait for the records
	}
	return err
}

func treeReplyErr(err error) *wire.TreeReply {
	we := toWireError(err)
	return &wire.TreeReply{Code: we.Code, Message: we.Message}
}

// treeRel validates a path of the client's, relative to the tree's
// directory; "." (the directory itself) only where dot allows it.
func treeRel(p string, dot bool) (string, error) {
	if dot && (p == "." || p == "") {
		return ".", nil
	}
	return cleanRelPath(p)
}

// treeError words err for the client, never naming the server's root.
func treeError(rel string, err error) error {
	var ce *codeError
	if errors.As(err, &ce) {
		return err
	}
	var pe *fs.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	var le *os.LinkError
	if errors.As(err, &le) {
		err = le.Err
	}
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return codeErrorf(wire.CodeNotFound, "%s: no such file or directory", rel)
	case errors.Is(err, fs.ErrPermission):
		return codeErrorf(wire.CodeDenied, "%s: permission denied", rel)
	case strings.Contains(err.Error(), "escapes from parent") || strings.Contains(err.Error(), "path escapes"):
		return codeErrorf(wire.CodeDenied, "%s: leads outside the tree (symbolic link or \"..\")", rel)
	}
	return codeErrorf(wire.CodeIO, "%s: %v", rel, err)
}

// entryOp runs the requests that change or describe one entry.
func (t *treeServer) entryOp(req *wire.TreeReq) (*wire.TreeReply, error) {
	dot := req.Op == wire.TreeStat || req.Op == wire.TreeMeta || req.Op == wire.TreeFlush
	rel, err := treeRel(req.Path, dot)
	if err != nil {
		return nil, err
	}
	if t.tr == nil { // a dry run's missing tree
		if req.Op == wire.TreeStat || req.Op == wire.TreeFlush {
			return &wire.TreeReply{}, nil
		}
		return nil, codeErrorf(wire.CodeNotFound, "%s: the tree's directory does not exist (dry run)", rel)
	}
	if t.p.DryRun && req.Op != wire.TreeStat && req.Op != wire.TreeFlush {
		return nil, codeErrorf(wire.CodeBadRequest, "%s: a dry run changes nothing", rel)
	}
	switch req.Op {
	case wire.TreeStat:
		e, err := t.stat(rel)
		if errors.Is(err, fs.ErrNotExist) {
			return &wire.TreeReply{}, nil // Kind 0: none
		}
		return &wire.TreeReply{Entry: e}, err
	case wire.TreeMkdir:
		err = t.tr.Mkdir(rel, 0o700)
	case wire.TreeSymlink:
		if strings.IndexByte(req.Arg, 0) >= 0 || req.Arg == "" {
			return nil, codeErrorf(wire.CodeBadRequest, "%s: bad symlink text", rel)
		}
		err = t.tr.Symlink(req.Arg, rel) // its text is never resolved by the server but beneath a root
	case wire.TreeLink:
		if !t.s.cfg.AllowHardlinks {
			return nil, codeErrorf(wire.CodeDenied, "%s: this server does not make hard links (listen --allow-hardlinks)", rel)
		}
		first, err := cleanRelPath(req.Arg)
		if err != nil {
			return nil, err
		}
		err = t.tr.Link(first, rel)
		return &wire.TreeReply{}, treeErr(rel, err)
	case wire.TreeRemove:
		err = t.tr.RemoveAll(rel)
	case wire.TreeRmdir:
		err = t.tr.Remove(rel)
	case wire.TreeMeta:
		err = t.meta(rel, req)
	case wire.TreeMknod:
		err = t.mknod(rel, req)
	case wire.TreeFlush:
		err = t.flush()
	default:
		return nil, codeErrorf(wire.CodeBadRequest, "unexpected tree op %d", req.Op)
	}
	return &wire.TreeReply{}, treeErr(rel, err)
}

func treeErr(rel string, err error) error {
	if err == nil {
		return nil
	}
	return treeError(rel, err)
}
