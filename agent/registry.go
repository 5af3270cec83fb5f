package agent

import (
	"sync"

	"github.com/pdiffagent/pdiffagent/wire"
)

// session is a server-side session between its Open and its end.
type session struct {
	id     [wire.SessionIDSize]byte
	peer   peerIdentity
	path   string
	ready  chan struct{} // closed when every worker stream is attached
	mu     sync.Mutex
	n      int          // streams attached
	open   bool         // still accepting Attach
	stream []*netStream // by worker index
}

// add attaches worker w's stream.
func (ss *session) add(w int, ns *netStream) error {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	switch {
	case !ss.open:
		return codeErrorf(wire.CodeBadRequest, "session is not accepting worker streams")
	case w < 1 || w >= len(ss.stream):
		return codeErrorf(wire.CodeBadRequest, "worker %d out of range 1..%d", w, len(ss.stream)-1)
	case ss.stream[w] != nil:
		return codeErrorf(wire.CodeBadRequest, "worker %d attached twice", w)
	}
	ss.stream[w] = ns
	if ss.n++; ss.n == len(ss.stream) {
		close(ss.ready)
	}
	return nil
}

// seal stops accepting streams and returns those attached.
func (ss *session) seal() []*netStream {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	ss.open = false
	return ss.stream
}

// acquire takes a session slot for the client fp: one of MaxSessions, and
// one of fp's MaxSessionsPerClient. A refusal is a wire.CodeBusy error.
func (s *Server) acquire(fp string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if n := s.byClient[fp]; n >= s.cfg.MaxSessionsPerClient {
		return codeErrorf(wire.CodeBusy, "server busy: this client already runs %d session(s), as many as one client may; try again later", n)
	}
	if s.running >= s.cfg.MaxSessions {
		return codeErrorf(wire.CodeBusy, "server busy: %d sessions running, try again later", s.cfg.MaxSessions)
	}
	s.running++
	s.byClient[fp]++
	return nil
}

// releaseSlot gives back a slot taken by acquire.
func (s *Server) releaseSlot(fp string) {
	s.mu.Lock()
	s.running--
	if s.byClient[fp]--; s.byClient[fp] <= 0 {
		delete(s.byClient, fp)
	}
	s.mu.Unlock()
}

// register makes a session whose control stream is ctl.
func (s *Server) register(id [wire.SessionIDSize]byte, peer peerIdentity, path string, workers int, ctl *netStream) (*session, error) {
	ss := &session{id: id, peer: peer, path: path, ready: make(chan struct{}), open: true, n: 1,
		stream: make([]*netStream, workers)}
	ss.stream[0] = ctl
	if workers == 1 {
		close(ss.ready)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, dup := s.sessions[id]; dup {
		ss.open = false
		return ss, codeErrorf(wire.CodeBadRequest, "session id already in use")
	}
	s.sessions[id] = ss
	return ss, nil
}

func (s *Server) unregister(id [wire.SessionIDSize]byte, ss *session) {
	s.mu.Lock()
	if s.sessions[id] == ss {
		delete(s.sessions, id)
	}
	s.mu.Unlock()
	ss.seal()
}
