package engine

import (
	"context"
	"sync"

	"github.com/pdiffagent/pdiffagent/wire"
	"golang.org/x/time/rate"
)

// Rate paces bytes to a limit (--bwlimit, --io-limit): one Rate shared by
// every worker of a session (or every session of a server) keeps their sum
// under it. Waits are taken in chunks of at most one burst (NewRate), so a
// message larger than that waits for all its chunks before it passes. A
// nil *Rate does not limit.
type Rate struct {
	l     *rate.Limiter
	chunk int
}

// NewRate limits to bytesPerSec (> 0) with bursts of at most block bytes
// (the session's block size: nothing needs to pass in a larger piece), and
// at most a tenth of a second's worth, at least 4 KiB. The bucket is what
// keeps the average exact when a waiter wakes late (a loaded machine): the
// bytes it could have sent meanwhile are credited, up to one burst.
func NewRate(bytesPerSec int64, block int) *Rate {
	chunk := int(max(min(int64(block), bytesPerSec/10), 4<<10))
	return &Rate{l: rate.NewLimiter(rate.Limit(bytesPerSec), chunk), chunk: chunk}
}

// Wait blocks until n more bytes may pass, or ctx ends.
func (r *Rate) Wait(ctx context.Context, n int) error {
	if r == nil {
		return nil
	}
	for n > 0 {
		c := min(n, r.chunk)
		if err := r.l.WaitN(ctx, c); err != nil {
			if ctx.Err() != nil {
				return context.Cause(ctx)
			}
			return err
		}
		n -= c
	}
	return nil
}

// ThrottleStream paces the messages s carries, both ways, through r: what
// a sync sends and receives on this side of its link counts against one
// limit. Abort ends a wait at once.
func ThrottleStream(s Stream, r *Rate) Stream {
	if r == nil {
		return s
	}
	ctx, cancel := context.WithCancelCause(context.Background())
	return &throttledStream{Stream: s, r: r, ctx: ctx, cancel: cancel}
}

type throttledStream struct {
	Stream
	r      *Rate
	ctx    context.Context // ends at Abort
	cancel context.CancelCauseFunc
	once   sync.Once
}

func (s *throttledStream) Send(m wire.Message) error {
	if err := s.r.Wait(s.ctx, wire.FrameHeaderLen+m.Len()); err != nil {
		return err
	}
	return s.Stream.Send(m)
}

func (s *throttledStream) Recv() (wire.Message, error) {
	m, err := s.Stream.Recv()
	if err == nil {
		if werr := s.r.Wait(s.ctx, wire.FrameHeaderLen+m.Len()); werr != nil {
			return nil, werr
		}
	}
	return m, err
}

func (s *throttledStream) Abort(err error) {
	s.once.Do(func() { s.cancel(err) })
	s.Stream.Abort(err)
}

// throttleWeak paces the hashing passes' reads (Options.ReadLimit): every
// block passes through the tier-1 hash once it is read, so waiting for its
// length there bounds the rate the file is read at (through a mapping, the
// read happens as it is hashed).
func throttleWeak(ctx context.Context, w WeakFunc, r *Rate) WeakFunc {
	if r == nil {
		return w
	}
	return func(b []byte) uint64 {
		r.Wait(ctx, len(b)) // a cancelled ctx ends the sync at its next check
		return w(b)
	}
}
