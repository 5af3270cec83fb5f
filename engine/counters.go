package engine

import "sync/atomic"

// counters accumulate one side's totals across workers.
type counters struct {
	changed, confirmed, collisions, zero atomic.Int64 // blocks
	sentBytes, written                   atomic.Int64 // bytes
	refined, subs                        atomic.Int64 // blocks refined, sub-blocks sent
	// landed counts blocks the receiver has written (data or zeros) as
	// they land, before their stripe's end confirms them in changed: a
	// session that fails mid-stripe reports what it wrote.
	landed atomic.Int64
	// moved and reused are the blocks assembled from pieces with a copy
	// and the bytes copied (rolling*.go); searchWork the bytes the
	// sender's search rolled over and tier-1 hashed.
	moved, reused, searchWork atomic.Int64
}

func (c *counters) stats() Stats {
	return Stats{
		BlocksChanged:   c.changed.Load(),
		BlocksConfirmed: c.confirmed.Load(),
		WeakCollisions:  c.collisions.Load(),
		BlocksZero:      c.zero.Load(),
		BytesSent:       c.sentBytes.Load(),
		BytesWritten:    c.written.Load(),
		BlocksRefined:   c.refined.Load(),
		SubBlocksSent:   c.subs.Load(),
		BlocksMoved:     c.moved.Load(),
		BytesReused:     c.reused.Load(),
		searchWork:      c.searchWork.Load(),
	}
}
