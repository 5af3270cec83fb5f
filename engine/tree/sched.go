package tree

import (
	"context"
	"sync"
)

// minStripeBlocks is how many blocks a file needs per worker before it
// takes more than one: a file of fewer than 2×minStripeBlocks blocks runs
// on one worker, so that many small files run side by side, and a large
// one is striped across up to all of them, as a single-file sync is.
const minStripeBlocks = 4

// scheduler hands out the tree's workers. Only the walker acquires (so a
// large file waiting for all of them cannot deadlock against another
// waiter), and file goroutines release. At most workers files run at once,
// which bounds the files in flight, and so the memory.
type scheduler struct {
	tokens chan struct{} // one per free worker
	wg     sync.WaitGroup
}

func newScheduler(workers int) *scheduler {
	s := &scheduler{tokens: make(chan struct{}, workers)}
	for range workers {
		s.tokens <- struct{}{}
	}
	return s
}

// workersFor is how many workers a file of size bytes takes.
func (s *scheduler) workersFor(size int64, blockSize int) int {
	blocks := (size + int64(blockSize) - 1) / int64(blockSize)
	k := int(min(blocks/minStripeBlocks, int64(cap(s.tokens))))
	return max(k, 1)
}

// run waits for k workers and runs job on them in a goroutine of its own;
// it returns ctx's error if ctx ends first.
func (s *scheduler) run(ctx context.Context, k int, job func()) error {
	for got := 0; got < k; got++ {
		select {
		case <-s.tokens:
		case <-ctx.Done():
			s.put(got)
			return ctx.Err()
		}
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer s.put(k)
		job()
	}()
	return nil
}

func (s *scheduler) put(k int) {
	for range k {
		s.tokens <- struct{}{}
	}
}

// wait waits for every job.
func (s *scheduler) wait() { s.wg.Wait() }
