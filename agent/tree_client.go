package agent

import (
	"context"

	"errors"
	"fmt"
	"io/fs"
	"math"
	"sync"
	"time"

	"github.com/pdiffagent/pdiffagent/engine"
	"github.com/pdiffagent/pdiffagent/engine/tree"
	"github.com/pdiffagent/pdiffagent/wire"
)

// PushTree brings the server's directory remote ("host:port/path") up to
// date with the local directory local, in one tree session (wire.OpTree):
// rsync's trailing-slash rule applies (tree.Resolve: "dir/" syncs dir's
// contents into path, "dir" syncs it into path/dir), and an empty remote
// path means local's base name. The walker is engine/tree's; the server
// applies each entry operation it plans (remoteTarget), and runs each
// file's engine over the session's worker streams, files side by side.
func PushTree(ctx context.Context, cfg ClientConfig, local, remote string, opt tree.Options) (tree.Stats, error) {
	hostport, rpath, err := cfg.parseRemote(remote)
	if err != nil {
		return tree.Stats{}, err
	}
	srcDir, rdir, prefix := tree.Resolve(local, rpath)
	if rdir == "" || rdir == "." {
		return tree.Stats{}, fmt.Errorf("remote %q names no directory: want host:port/path", remote)
	}
	return runTree(ctx, cfg, hostport, wire.OpTree, rdir, opt, func(rt *remoteTarget, opt tree.Options) (tree.Stats, error) {
		return tree.SyncTo(ctx, tree.LocalSource(), srcDir, rt, ".", prefix, opt)
	})
}

// PullTree brings the local directory local up to date with the server's
// directory remote ("host:port/path"), in one tree session
// (wire.OpTreePull), with PushTree's rules the other way: rsync's
// trailing-slash rule ("path/" syncs its contents into local, "path" the
// directory itself into local/path, whose parent must exist). The server
// lists its tree and sends each file over the session's worker streams;
// the walker and the local side are engine/tree's (SyncFrom).
func PullTree(ctx context.Context, cfg ClientConfig, remote, local string, opt tree.Options) (tree.Stats, error) {
	hostport, rpath, err := cfg.parseRemote(remote)
	if err != nil {
		return tree.Stats{}, err
	}
	if rpath == "" {
		return tree.Stats{}, fmt.Errorf("remote %q names no directory: want host:port/path", remote)
	}
	srcDir, dstDir, prefix := tree.Resolve(rpath, local)
	return runTree(ctx, cfg, hostport, wire.OpTreePull, srcDir, opt, func(rt *remoteTarget, opt tree.Options) (tree.Stats, error) {
		return tree.SyncFrom(ctx, rt, ".", dstDir, prefix, opt, rt.fetch)
	})
}

// runTree runs a tree session (op) on the server's directory dir: its
// Open, then run, then the end.
// run gets opt with the session's capabilities (Session.Caps), which
// decide the hashes, and so the block-hash records, a file's sync uses.
func runTree(ctx context.Context, cfg ClientConfig, hostport string, op wire.Op, dir string, opt tree.Options, run func(*remoteTarget, tree.Options) (tree.Stats, error)) (tree.Stats, error) {
	cfg, err := cfg.populate(hostport)
	if err != nil {
		return tree.Stats{}, err
	}
	sess, err := opt.Session.Normalize()
	if err != nil {
		return tree.Stats{}, err
	}
	p := engine.Params{Session: sess}
	p.Workers *= tree.SlotsPerWorker // streams: small files run beside a large one's stripes
	open := openMessage(op, dir, p)
	if op == wire.OpTree && opt.Atomic && !p.DryRun {
		open.Flags |= wire.FlagAtomic
	}
	c := &clientConn{cfg: cfg, hostport: hostport}
	if cfg.Tunnel == nil {
		c.tlsConf = clientTLSConfig(cfg.Identity, cfg.Pin, cfg.PinVerified)
	}
	if cfg.Transport == TransportQUIC {
		c.quic = make([]lazyConn, cfg.Connections)
	}
	stop := context.AfterFunc(ctx, func() { c.abort(context.Cause(ctx)) })
	rt, err := openTree(ctx, c, open, p)
	var st tree.Stats
	if err == nil {
		rt.records = tree.VerifiesSkips(opt)
		opt.Session.Caps = rt.p.Caps
		st, err = run(rt, opt)
		if rt.broken != nil && ctx.Err() == nil {
			err = fmt.Errorf("tree session broke: %w", rt.broken)
		}
	}
	stop()
	fatal := err
	if errors.Is(err, tree.ErrPartial) {
		fatal = nil
	}
	c.close(ctx, fatal)
	cfg.Log.Debug("tree session ended", "server", hostport, "op", open.Op, "path", open.Path, "transport", cfg.Transport, "err", err)
	if fatal != nil {
		return st, c.explain(err)
	}
	return st, err
}

// openTree opens the session's control stream and sends the Open.
func openTree(ctx context.Context, c *clientConn, open *wire.Open, p engine.Params) (*remoteTarget, error) {
	ctl, err := c.openStream(ctx, 0)
	if err != nil {
		return nil, err
	}
	if err := ctl.Send(open); err != nil {
		return nil, err
	}
	reply, err := expect[*wire.OpenReply](ctl, time.Now().Add(c.cfg.DialTimeout))
	if err != nil {
		if !ctl.helloPending && ctl.caps&wire.CapTree == 0 {
			return nil, fmt.Errorf("server %s does not take directory trees (it is older than this client): %w", c.hostport, err)
		}
		return nil, err
	}
	if reply.Workers < 1 || int(reply.Workers) > p.Workers {
		return nil, fmt.Errorf("server accepted %d workers, asked for %d", reply.Workers, p.Workers)
	}
	p.Workers, p.Caps = int(reply.Workers), ctl.caps
	return &remoteTarget{c: c, ctl: ctl, p: p, pool: newStreamPool(p.Workers)}, nil
}

// remoteTarget is a server's tree directory, the Target of PushTree. Its
// operations are requests on the control stream, answered one at a time;
// files run on worker streams of their own (tree_workers.go). Paths are
// relative to the tree's directory.
type remoteTarget struct {
	c   *clientConn
	ctl *netStream
	p   engine.Params // the session's (workers accepted, capabilities), not bound to a file

	pool *streamPool // the worker streams

	mu     sync.Mutex // the control stream: one request and its answer at a time
	broken error      // the control stream failed: every later operation fails with it

	records bool // listings ask for record digests (tree.VerifiesSkips)
}

func (r *remoteTarget) Join(dir, name string) string {
	if dir == "." || dir == "" {
		return name
	}
	return dir + "/" + name
}

// recv reads the control stream's next message (with the idle timeout);
// a failure breaks the session.
func (r *remoteTarget) recv() (wire.Message, error) {
	r.ctl.bs.SetReadDeadline(time.Now().Add(r.c.cfg.IdleTimeout))
	m, err := r.ctl.Recv()
	r.ctl.bs.SetReadDeadline(time.Time{})
	if err == nil {
		if e, ok := m.(*wire.Error); ok {
			err = peerError(e)
		}
	}
	if err != nil {
		r.broken = err
	}
	return m, err
}

// request sends req and reads its TreeReply; a reply with a code is the
// request's own error, the session goes on. The caller holds mu.
func (r *remoteTarget) request(req *wire.TreeReq) (*wire.TreeReply, error) {
	if r.broken != nil {
		return nil, r.broken
	}
	if err := r.ctl.Send(req); err != nil {
		r.broken = err
		return nil, err
	}
	m, err := r.recv()
	if err != nil {
		return nil, err
	}
	reply, ok := m.(*wire.TreeReply)
	if !ok {
		r.broken = fmt.Errorf("server sent %s, want TreeReply", m.Type())
		return nil, r.broken
	}
	if reply.Code != 0 {
		return reply, &engine.PeerError{Code: reply.Code, Message: reply.Message}
	}
	return reply, nil
}

func (r *remoteTarget) op(req *wire.TreeReq) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	_, err := r.request(req)
	return err
}

// List asks for dir's listing, which the server sends whole, sorted, in
// batches; it is held in bounded memory (tree.DirentBuffer: on disk past
// the sort threshold's entries) so that the control stream is free for
// the walker's next requests. A listing that is not a sorted list of plain
// names (a hostile or broken server) breaks the session.
func (r *remoteTarget) List(dir string) (tree.Listing, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.broken != nil {
		return nil, r.broken
	}
	req := &wire.TreeReq{Op: wire.TreeList, Path: dir}
	if r.records && r.p.Caps.Has(wire.CapTreeRecords) {
		req.Flags = wire.TreeListRecords
	}
	if err := r.ctl.Send(req); err != nil {
		r.broken = err
		return nil, err
	}
	var buf tree.DirentBuffer
	for {
		m, err := r.recv()
		if err != nil {
			buf.Close()
			return nil, err
		}
		switch m := m.(type) {
		case *wire.TreeReply:
			buf.Close()
			return nil, &engine.PeerError{Code: m.Code, Message: m.Message}
		case *wire.TreeEntries:
			for i := range m.Entries {
				err := r.checkRecord(&m.Entries[i], req.Flags&wire.TreeListRecords != 0)
				if err == nil {
					err = buf.Add(direntOf(&m.Entries[i]))
				}
				if err != nil {
					buf.Close()
					r.broken = fmt.Errorf("server's listing of %q: %w", dir, err)
					return nil, r.broken
				}
			}
			if m.Last {
				return buf.Listing()
			}
		default:
			buf.Close()
			r.broken = fmt.Errorf("server sent %s, want TreeEntries", m.Type())
			return nil, r.broken
		}
	}
}

// checkRecord refuses a record digest in a listing from a server that did
// not announce wire.CapTreeRecords, or that was not asked for (asked: the
// TreeList's TreeListRecords); the decoder has refused one on an entry
// that is not a regular file, or of a bad length.
func (r *remoteTarget) checkRecord(e *wire.TreeEntry, asked bool) error {
	switch {
	case e.Record == [wire.DigestSize]byte{}:
	case !r.p.Caps.Has(wire.CapTreeRecords):
		return fmt.Errorf("a record digest for %q, which a server without %v does not send", e.Name, wire.CapTreeRecords)
	case !asked:
		return fmt.Errorf("a record digest for %q, which the listing did not ask for", e.Name)
	}
	return nil
}

func direntOf(e *wire.TreeEntry) tree.Dirent {
	d := tree.Dirent{Name: e.Name, Link: e.Link, Entry: tree.Entry{
		Kind: tree.Kind(e.Kind), Mode: fs.FileMode(e.Mode), Size: e.Size, ModTime: e.ModTime,
		Uid: e.Uid, Gid: e.Gid, Nlink: e.Nlink, Dev: e.Dev, Ino: e.Ino, Rdev: e.Rdev,
	}}
	if e.Record != ([wire.DigestSize]byte{}) {
		rec := tree.RecordDigest(e.Record)
		d.Record = &rec
	}
	return d
}

func (r *remoteTarget) Lstat(path string) (tree.Dirent, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	reply, err := r.request(&wire.TreeReq{Op: wire.TreeStat, Path: path})
	if err != nil {
		return tree.Dirent{}, err
	}
	if reply.Entry.Kind == 0 {
		return tree.Dirent{}, fmt.Errorf("%s: %w", path, fs.ErrNotExist)
	}
	return direntOf(&reply.Entry), nil
}

func (r *remoteTarget) Mkdir(path string) error {
	return r.op(&wire.TreeReq{Op: wire.TreeMkdir, Path: path})
}

func (r *remoteTarget) Symlink(path, text string) error {
	return r.op(&wire.TreeReq{Op: wire.TreeSymlink, Path: path, Arg: text})
}

func (r *remoteTarget) Link(first, path string) error {
	return r.op(&wire.TreeReq{Op: wire.TreeLink, Path: path, Arg: first})
}

func (r *remoteTarget) Remove(path string) error {
	return r.op(&wire.TreeReq{Op: wire.TreeRemove, Path: path})
}

func (r *remoteTarget) Rmdir(path string) error {
	return r.op(&wire.TreeReq{Op: wire.TreeRmdir, Path: path})
}

// Mknod asks the server for a device node like e (which it makes only
// with listen --allow-devices, as root).
func (r *remoteTarget) Mknod(path string, e tree.Entry) error {
	if r.p.Caps&wire.CapTreeDevices == 0 {
		return fmt.Errorf("server %s does not make device nodes (it is older than this client)", r.c.hostport)
	}
	if e.Rdev > math.MaxInt64 {
		return fmt.Errorf("device number %#x does not fit the request", e.Rdev)
	}
	return r.op(&wire.TreeReq{Op: wire.TreeMknod, Path: path, Mode: uint32(e.Mode), Size: int64(e.Rdev)})
}

func (r *remoteTarget) Meta(path string, src tree.Entry, what tree.Meta) error {
	req := &wire.TreeReq{Op: wire.TreeMeta, Path: path, Mode: uint32(src.Mode), ModTime: src.ModTime, Uid: src.Uid, Gid: src.Gid}
	if what&tree.MetaMode != 0 {
		req.Flags |= wire.TreeMetaMode
	}
	if what&tree.MetaTime != 0 {
		req.Flags |= wire.TreeMetaTime
	}
	if what&tree.MetaOwner != 0 {
		req.Flags |= wire.TreeMetaOwner
	}
	return r.op(req)
}

// Root describes the tree's directory (a Source's root).
func (r *remoteTarget) Root(path string) (tree.Entry, error) {
	d, err := r.Lstat(path)
	return d.Entry, err
}

func (r *remoteTarget) Flush() error {
	return r.op(&wire.TreeReq{Op: wire.TreeFlush})
}
