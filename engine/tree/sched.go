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

// SlotsPerWorker is how many stripes a tree runs at once per worker: a
// file takes at most Workers stripes, so a large file striped across all
// workers leaves three times as many slots to small files beside it. A
// small file spends most of its time waiting for its round trips, not on
// a core (measured: about 8 ms per changed file of a few blocks over
// loopback, at 0.3 ms of CPU), so the small files run while the large
// ones hash. A network tree opens SlotsPerWorker streams per worker. Four
// against two, the bench's tree pushed over TCP with -c 2 (issue 16's:
// 100 of 2,000 small files rewritten, 10% of three 512 MiB files'
// blocks), in 13 interleaved pairs on a 2-core VM: median 0.76 s against
// 0.85 (eight slots, four pairs: no better than four).
const SlotsPerWorker = 4

// scheduler hands out the tree's slots. Only the walker acquires (so a
// large file waiting for many of them cannot deadlock against another
// waiter), and file goroutines release. At most SlotsPerWorker×workers
// stripes run at once, which bounds the files in flight, and so the
// memory.
type scheduler struct {
	tokens  chan struct{} // one per free slot
	workers int
	wg      sync.WaitGroup
}

func newScheduler(workers int) *scheduler {
	n := SlotsPerWorker * workers
	s := &scheduler{tokens: make(chan struct{}, n), workers: workers}
	for range n {
		s.tokens <- struct{}{}
	}
	return s
}

// workersFor is how many workers (stripes, and slots) a file of size
// bytes takes: at most the tree's workers.
func (s *scheduler) workersFor(size int64, blockSize int) int {
	blocks := (size + int64(blockSize) - 1) / int64(blockSize)
	k := int(min(blocks/minStripeBlocks, int64(s.workers)))
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
