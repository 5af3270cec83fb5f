package engine

import (
	"errors"
	"io"
	"sync"

	"github.com/pdiffagent/pdiffagent/wire"
)

// pipeDepth is how many messages each direction of a Pipe buffers.
const pipeDepth = 16

// errPipeAborted is what a Pipe's calls return after Abort(nil).
var errPipeAborted = errors.New("engine: stream aborted")

// Pipe returns the two ends of an in-memory Stream. Messages are handed
// over as they are, without encoding. Aborting either end aborts both, as a
// connection reset would.
func Pipe() (Stream, Stream) {
	sh := &pipeShared{done: make(chan struct{})}
	ab := make(chan wire.Message, pipeDepth)
	ba := make(chan wire.Message, pipeDepth)
	return &pipeEnd{sh: sh, out: ab, in: ba}, &pipeEnd{sh: sh, out: ba, in: ab}
}

// pipeShared is the state both ends see: done is closed once, by Abort.
type pipeShared struct {
	once sync.Once
	done chan struct{}
	err  error
}

// pipeEnd owns out (it alone sends on and closes it) and reads in.
type pipeEnd struct {
	sh     *pipeShared
	out    chan wire.Message
	in     chan wire.Message
	mu     sync.Mutex // guards closed against Send racing CloseSend
	closed bool
}

func (p *pipeEnd) Send(m wire.Message) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return errors.New("engine: send on a closed stream")
	}
	select {
	case <-p.sh.done:
		return p.sh.err
	default:
	}
	select {
	case p.out <- m:
		return nil
	case <-p.sh.done:
		return p.sh.err
	}
}

func (p *pipeEnd) Recv() (wire.Message, error) {
	select {
	case <-p.sh.done:
		return nil, p.sh.err
	default:
	}
	select {
	case m, ok := <-p.in:
		if !ok {
			return nil, io.EOF
		}
		return m, nil
	case <-p.sh.done:
		return nil, p.sh.err
	}
}

func (p *pipeEnd) CloseSend() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.closed {
		p.closed = true
		close(p.out)
	}
	return nil
}

func (p *pipeEnd) Abort(err error) {
	if err == nil {
		err = errPipeAborted
	}
	p.sh.once.Do(func() {
		p.sh.err = err
		close(p.sh.done)
	})
}
