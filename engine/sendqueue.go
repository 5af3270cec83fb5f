package engine

import (
	"context"

	"github.com/pdiffagent/pdiffagent/wire"
)

// sendQueueBytes bounds what a sender worker's send queue holds: blocks
// decided and handed over but not yet written to the stream.
const sendQueueBytes = 2 << 20

// sendQueueLen is how many messages a worker's send queue holds, so that
// it holds at most about sendQueueBytes of blocks (at least one).
func sendQueueLen(blockSize int) int {
	return max(1, sendQueueBytes/max(blockSize, 1))
}

// sendQueue sends what a sender worker's deciding goroutine gives it, in
// order, from a goroutine of its own. Over a network a Data's Send
// encrypts and writes a whole block and waits whenever the peer's reader
// is behind; the decider meanwhile goes on confirming the next blocks with
// the strong hash (or searching them) instead of waiting with it. Measured
// on a 10%-changed 1 GiB push over TCP (load 8): the deciders waited 0.49
// s in Send, against nothing in a local sync, whose Pipe only hands the
// message over.
//
// The worker owns the queue: it starts it (startSendQueue) before it
// decides and ends it (close) before it returns. The drain goroutine is the
// only one that reads q; after a failed Send it stops sending, keeps
// taking (so that no one blocks) and gives payloads back to the pool.
type sendQueue struct {
	st        *lockedStream
	ctx       context.Context
	fail      func(error) // the session's: a failed Send ends it
	blockSize int
	q         chan wire.Message // the decider sends and closes; drain receives
	done      chan struct{}     // closed when drain has stopped; err is set before
	err       error
}

func startSendQueue(s *session, st *lockedStream, blockSize int) *sendQueue {
	sq := &sendQueue{st: st, ctx: s.ctx, fail: s.fail, blockSize: blockSize,
		q: make(chan wire.Message, sendQueueLen(blockSize)), done: make(chan struct{})}
	go sq.drain()
	return sq
}

func (sq *sendQueue) drain() {
	defer close(sq.done)
	for m := range sq.q {
		if sq.err != nil {
			sq.drop(m)
			continue
		}
		if err := sq.st.sendNow(m); err != nil {
			sq.err = wrapStream(err)
			sq.fail(sq.err) // frees a decider waiting to queue
		}
	}
}

// drop gives back the pooled payload of a message that will not be sent.
func (sq *sendQueue) drop(m wire.Message) { dropMessage(sq.blockSize, m) }

// testHookQueued, when set (engine tests), sees each message the decider
// has queued (its type only: the message is the queue's).
var testHookQueued func(m wire.Message)

// send queues m. It fails once the session ended, without taking m.
func (sq *sendQueue) send(m wire.Message) error {
	select {
	case sq.q <- m:
		if testHookQueued != nil {
			testHookQueued(m)
		}
		return nil
	case <-sq.ctx.Done():
		return sq.ctx.Err()
	}
}

// close waits until everything queued was sent and returns the first
// error of a Send. Called once, by the worker, when nothing more is queued.
func (sq *sendQueue) close() error {
	close(sq.q)
	<-sq.done
	return sq.err
}
