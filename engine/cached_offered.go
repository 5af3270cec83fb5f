package engine

import (
	"sync"

	"github.com/pdiffagent/pdiffagent/engine/cache"
)

// offeredQueue holds a recording receiver stripe's offered blocks, with
// the hashes it offered, until their fate is known: the sender sends
// blocks in order, so once the stream has moved past an offered block
// (a later block's Data or SubData, or StripeEnd) without its Data, the
// sender confirmed it and it is recorded as it is; a Data for it means
// its tier-2 hash disagreed (a weak collision), and the writer records
// what it writes instead. Recording it when offered would record such a
// block twice, and a record with a block put twice is not committed.
// The hasher pushes a batch's blocks before its Verdict goes out (before
// decided moves past them); the reader pops them.
type offeredQueue struct {
	mu     sync.Mutex
	blocks []int64
	es     []cache.Entry
}

func (q *offeredQueue) push(blocks []int64, es []cache.Entry) {
	q.mu.Lock()
	q.blocks = append(q.blocks, blocks...)
	q.es = append(q.es, es...)
	q.mu.Unlock()
}

// settle returns the queued blocks below i, kept, and drops block i when
// sent is set (its Data arrived).
func (q *offeredQueue) settle(i int64, sent bool) ([]int64, []cache.Entry) {
	q.mu.Lock()
	defer q.mu.Unlock()
	n := 0
	for n < len(q.blocks) && q.blocks[n] < i {
		n++
	}
	blocks, es := q.blocks[:n:n], q.es[:n:n]
	if sent && n < len(q.blocks) && q.blocks[n] == i {
		n++
	}
	q.blocks, q.es = q.blocks[n:], q.es[n:]
	return blocks, es
}

// settleOffered records the stripe's offered blocks below i, which the
// sender kept, and forgets block i if sent.
func (r *receiver) settleOffered(ss *stripeState, i int64, sent bool) {
	if blocks, es := ss.offered.settle(i, sent); len(blocks) > 0 {
		r.cache.putRuns(blocks, es)
	}
}
