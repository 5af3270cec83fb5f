package agent

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/pdiffagent/pdiffagent/engine"
	"github.com/pdiffagent/pdiffagent/wire"
)

// The memory budget (ServerConfig.MaxMemory) bounds the block buffers of
// every session at once. A session reserves engine.WorkerMemory per worker
// (its window of blocks in flight: see that function) before the server
// answers its Open. A session's share is at most a quarter of the budget
// (sessionShare; at least one worker), so that one client with two
// sessions cannot take it all (MaxSessionsPerClient bounds how many shares one client holds). If the budget has room for fewer workers
// than asked,
// the reply grants fewer; if it has room for none, the Open waits, within
// the handshake timeout, for running sessions to end, and is then refused
// as busy. An Open whose single worker could never fit is refused at once.
//
// Not counted: quic-go's receive buffers, bounded by its flow-control
// windows (quicConfig: 16 MiB per stream, 64 MiB per connection, reached
// only by a peer whose data the engine reads as fast as it comes), the
// kernel's socket buffers, TLS records and frame headers (tens of KiB per
// stream; a stream sending blocks holds a write batch of 1 MiB while it
// writes one: tlsrec.go, bigBatchBytes; a free list keeps up to 8 of them,
// batchconn.go), and the runtime's slack: buffers freed to the pool are returned
// to the system only after garbage collections. Measured (2026-12-01, the
// 2-core VM, 60 s of TestHostileSoak: 16 MiB blocks, a 256 MiB budget of
// which at most 216 MiB was reserved): peak RSS 270 MiB, 54 MiB above the
// peak reservation; the same attack without a budget reached 579 MiB in 5 s.

// DefaultMaxMemory is ServerConfig.MaxMemory's default.
const DefaultMaxMemory = 512 << 20

// sessionShare: one session reserves at most 1/sessionShare of the budget.
const sessionShare = 4

// memBudget is the server's budget of buffered bytes.
type memBudget struct {
	mu    sync.Mutex
	total int64
	used  int64
	peak  int64         // the most ever reserved at once
	freed chan struct{} // closed (and replaced) whenever memory is released
}

func newMemBudget(total int64) *memBudget {
	return &memBudget{total: total, freed: make(chan struct{})}
}

// reserve takes per bytes for each of up to workers workers, waiting until
// deadline for room for at least one (calling waiting once if it must).
// It returns the workers granted.
func (b *memBudget) reserve(ctx context.Context, per int64, workers int, deadline time.Time, waiting func()) (int, error) {
	if per > b.total {
		return 0, codeErrorf(wire.CodeDenied, "one worker of this session needs %d bytes of buffers, more than this server's memory budget of %d bytes (--max-memory): use a smaller block size", per, b.total)
	}
	workers = int(min(int64(workers), max(1, b.total/sessionShare/per)))
	timer := time.NewTimer(time.Until(deadline))
	defer timer.Stop()
	for {
		b.mu.Lock()
		if n := min(int64(workers), (b.total-b.used)/per); n >= 1 {
			b.used += n * per
			b.peak = max(b.peak, b.used)
			b.mu.Unlock()
			return int(n), nil
		}
		freed := b.freed
		b.mu.Unlock()
		if waiting != nil {
			waiting()
			waiting = nil
		}
		select {
		case <-freed:
		case <-timer.C:
			return 0, codeErrorf(wire.CodeBusy, "server busy: its memory budget is taken by running sessions; try again later")
		case <-ctx.Done():
			return 0, errServerClosing
		}
	}
}

// release gives back what reserve took.
func (b *memBudget) release(n int64) {
	if n == 0 {
		return
	}
	b.mu.Lock()
	b.used -= n
	close(b.freed)
	b.freed = make(chan struct{})
	b.mu.Unlock()
}

// inUse is the bytes reserved now.
func (b *memBudget) inUse() int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.used
}

// reserveMemory fits tf's workers in the budget (lowering them if need be)
// and returns the bytes to release when the session ends.
func (s *Server) reserveMemory(ctx context.Context, tf *target, opened time.Time, log *slog.Logger) (int64, error) {
	per := engine.WorkerMemory(tf.p.Session, tf.op == wire.OpPull)
	n, err := s.mem.reserve(ctx, per, tf.p.Workers, opened.Add(s.cfg.HandshakeTimeout), func() {
		log.Debug("session waits for room in the memory budget", "bytes_per_worker", per)
	})
	if err != nil {
		return 0, err
	}
	tf.p.Workers = n
	return int64(n) * per, nil
}

// peakUse is the most reserved at once so far.
func (b *memBudget) peakUse() int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.peak
}
