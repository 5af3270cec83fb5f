package engine

import (
	"sync"

	"github.com/pdiffagent/pdiffagent/wire"
)

// refusals sends the reader's Refused, and after them its RollEnd, from
// a goroutine of its own: the reader must never wait on the stream. A
// refusal crosses the pieces of the blocks after the refused one, which
// the sender keeps sending, reading nothing, until its batch is out; a
// reader that sent the Refused itself stopped reading when the stream
// back was full, and the sync hung (TestRollingAllCopiesRefused). The
// queue holds at most one message per block of the stripe (a block is
// refused once) and the RollEnd.
type refusals struct {
	rr   *recvRoll
	st   *lockedStream
	mu   sync.Mutex
	q    []wire.Message
	err  error // the first failed send; the queue is then dropped
	stop bool  // closed: send nothing more
	wake chan struct{}
}

func startRefusals(rr *recvRoll, st *lockedStream) *refusals {
	o := &refusals{rr: rr, st: st, wake: make(chan struct{}, 1)}
	go o.run()
	return o
}

// push queues m, or returns the error a send already met.
func (o *refusals) push(m wire.Message) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.err != nil {
		return o.err
	}
	o.q = append(o.q, m)
	select {
	case o.wake <- struct{}{}:
	default:
	}
	return nil
}

// run sends the queue in order, each message under sendMu (never between
// a batch's Verdict, Refine and RollSums), until the RollEnd is out, a
// send fails or close.
func (o *refusals) run() {
	for {
		o.mu.Lock()
		for len(o.q) == 0 && !o.stop {
			o.mu.Unlock()
			<-o.wake
			o.mu.Lock()
		}
		if o.stop {
			o.mu.Unlock()
			return
		}
		m := o.q[0]
		o.q[0] = nil
		o.q = o.q[1:]
		o.mu.Unlock()
		o.rr.sendMu.Lock()
		err := o.st.Send(m)
		o.rr.sendMu.Unlock()
		if err != nil {
			o.mu.Lock()
			o.err, o.q = wrapStream(err), nil
			o.mu.Unlock()
			return
		}
		if _, last := m.(*wire.RollEnd); last {
			return
		}
	}
}

// close stops the goroutine once it has nothing to send (a stripe that
// failed before its RollEnd). One blocked in a send ends as the session's
// streams are aborted.
func (o *refusals) close() {
	if o == nil {
		return
	}
	o.mu.Lock()
	o.stop = true
	o.mu.Unlock()
	select {
	case o.wake <- struct{}{}:
	default:
	}
}
