package engine

import (
	"context"
	"sync"
)

// orderedSlack is how many jobs an ordered pipeline may have in flight
// (dispatched, not yet emitted) beyond one per worker: enough that every
// worker has work while the emitter waits for the oldest job.
const orderedSlack = 2

// ordered runs a pipeline whose output keeps the order of its input, the
// way blockcopy does it: next yields jobs one after another, workers
// goroutines run work on them in parallel, and emit receives the results in
// job order. Consecutive jobs go to whichever worker is free, so every
// worker stays busy; a worker owning a contiguous stripe could not, as its
// output would have to wait for all the stripes before it.
//
// next runs in a single goroutine (the dispatcher, which may read a
// stream); emit runs in the caller's goroutine. At most
// workers+orderedSlack jobs are in flight, so memory is bounded whatever
// the input's length (retrieve: that many batches of about batchBytes). The first error of any stage cancels the others and
// is the one returned; results that were computed but not emitted are
// handed to drop, which returns their buffers.
func ordered[J, R any](ctx context.Context, workers int,
	next func(ctx context.Context) (job J, ok bool, err error),
	work func(ctx context.Context, job J) (R, error),
	emit func(R) error,
	drop func(R),
) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	type slot struct {
		job  J
		res  R
		err  error
		done chan struct{} // closed once res or err is set
	}
	// The dispatcher owns and closes both channels. order holds, in job
	// order, every slot handed out; jobs hands the same slots to workers.
	order := make(chan *slot, workers+orderedSlack)
	jobs := make(chan *slot)
	var nextErr error // set by the dispatcher before it closes order
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer close(order)
		defer close(jobs)
		for {
			j, ok, err := next(ctx)
			if err != nil {
				nextErr = err
				cancel(err)
				return
			}
			if !ok {
				return
			}
			s := &slot{job: j, done: make(chan struct{})}
			select {
			case order <- s:
			case <-ctx.Done():
				return
			}
			select {
			case jobs <- s:
			case <-ctx.Done():
				s.err = context.Cause(ctx)
				close(s.done)
				return
			}
		}
	}()
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for s := range jobs {
				if ctx.Err() != nil {
					s.err = context.Cause(ctx)
				} else if s.res, s.err = work(ctx, s.job); s.err != nil {
					cancel(s.err)
				}
				close(s.done)
			}
		}()
	}
	var err error
	for s := range order {
		<-s.done
		switch {
		case s.err != nil:
			if err == nil {
				err = s.err
			}
		case err != nil:
			drop(s.res)
		default:
			if err = emit(s.res); err != nil {
				cancel(err)
			}
		}
	}
	wg.Wait()
	if err == nil {
		err = nextErr
	}
	if err != nil {
		// The first failure in time, rather than the first in job order
		// (which may just have seen the cancellation).
		if cause := context.Cause(ctx); cause != nil {
			err = cause
		}
	}
	return err
}
