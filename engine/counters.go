package engine

import "sync/atomic"

// counters accumulate one side's totals across workers.
type counters struct {
	changed, confirmed, collisions, zero atomic.Int64 // blocks
	sentBytes, written                   atomic.Int64 // bytes
}

func (c *counters) stats() Stats {
	return Stats{
		BlocksChanged:   c.changed.Load(),
		BlocksConfirmed: c.confirmed.Load(),
		WeakCollisions:  c.collisions.Load(),
		BlocksZero:      c.zero.Load(),
		BytesSent:       c.sentBytes.Load(),
		BytesWritten:    c.written.Load(),
	}
}
