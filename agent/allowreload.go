package agent

import (
	"context"
	"errors"
	"slices"

	"github.com/pdiffagent/pdiffagent/wire"
)

// clientConns are the connections of one client fingerprint: ctx ends, with
// a removedError cause, when SetAllow removes the client.
type clientConns struct {
	n      int // connections being served
	ctx    context.Context
	cancel context.CancelCauseFunc
}

// removedError ends the sessions of a client removed from the allow list;
// the client is told with wire.CodeDenied.
type removedError struct{ fp string }

func (e *removedError) Error() string {
	return "this client was removed from the server's allow list"
}

// WireCode is the code the engine reports e with when it cancels a session.
func (e *removedError) WireCode() uint16 { return wire.CodeDenied }

// allowList is the allow list in force.
func (s *Server) allowList() allowList { return *s.allow.Load() }

// clientContext derives the context of one connection of client fp from
// ctx: it also ends when SetAllow removes fp. Call done when the
// connection is served. The context is already done when fp was removed
// between its handshake and this call.
func (s *Server) clientContext(ctx context.Context, fp string) (_ context.Context, done func()) {
	s.mu.Lock()
	cc := s.clients[fp]
	if cc == nil {
		cc = &clientConns{}
		cc.ctx, cc.cancel = context.WithCancelCause(context.Background())
		s.clients[fp] = cc
		if _, ok := s.allowList()[fp]; !ok {
			cc.cancel(&removedError{fp})
		}
	}
	cc.n++
	s.mu.Unlock()
	cctx, cancel := context.WithCancelCause(ctx)
	stop := context.AfterFunc(cc.ctx, func() { cancel(context.Cause(cc.ctx)) })
	return cctx, func() {
		stop()
		cancel(nil)
		s.mu.Lock()
		if cc.n--; cc.n == 0 && s.clients[fp] == cc {
			delete(s.clients, fp)
		}
		s.mu.Unlock()
	}
}

// SetAllow replaces the allow lists of a running server (ServerConfig.Allow
// and AllowReadOnly; listen calls it on SIGHUP with its --allow-file read
// again). New connections are checked against the new lists at once; the
// sessions of a client no longer listed end, the client told that it was
// removed. A client moved between the lists keeps its running sessions.
// It returns the fingerprints added and removed, sorted.
func (s *Server) SetAllow(rw, ro []string) (added, removed []string, err error) {
	if len(rw)+len(ro) == 0 {
		return nil, nil, errors.New("agent: no client is allowed: an empty allow list is refused (the server keeps its list)")
	}
	next, err := newAllowList(rw, ro)
	if err != nil {
		return nil, nil, err
	}
	s.mu.Lock()
	prev := s.allowList()
	s.allow.Store(&next)
	for fp := range next {
		if _, ok := prev[fp]; !ok {
			added = append(added, fp)
		}
	}
	for fp := range prev {
		if _, ok := next[fp]; ok {
			continue
		}
		removed = append(removed, fp)
		if cc := s.clients[fp]; cc != nil {
			cc.cancel(&removedError{fp})
		}
	}
	s.mu.Unlock()
	slices.Sort(added)
	slices.Sort(removed)
	return added, removed, nil
}

// abortCause is the error a session's streams are aborted with when its
// connection's ctx ends: the client's removal, or the server's shutdown.
func abortCause(ctx context.Context) error {
	var re *removedError
	if errors.As(context.Cause(ctx), &re) {
		return codeErrorf(wire.CodeDenied, "%s", re.Error())
	}
	return errServerClosing
}
