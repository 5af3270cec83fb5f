package engine

import (
	"fmt"
	"sync"

	"github.com/pdiffagent/pdiffagent/sysio"
)

// Early flushes (doc.go, "Bounds"). The receiver's final fsync waits for
// everything the session wrote to reach stable storage. Block writes are
// O_DIRECT, but "written" is not "stable": a disk's (or a VM host's)
// write cache still holds them, and the fsync's cache flush then takes
// long with both cores idle (measured here: 0.39-0.43 s at the end of a
// 2 s push of a fully replaced 1 GiB file; 1.1 s after 1 GiB written by
// dd at full speed). So every flushEvery bytes written the receiver starts
// an fdatasync in the background, at most one at a time, and the final
// fsync has only the tail to flush. A sync whose durability is deferred
// (a tree's files, synced together at the end) flushes early too: a file
// gets one fdatasync per 64 MiB it takes, and the tree's final flush has
// less left to wait for.
const flushEvery = 64 << 20

// flusher starts the early flushes of one target.
type flusher struct {
	f       *sysio.File
	every   int64                   // flushEvery, or Options.testFlushEvery
	sync    func(*sysio.File) error // fdatasync, or Options.testFlush
	mu      sync.Mutex
	pending int64 // bytes written since the last flush started
	running bool
	stopped bool
	n       int   // flushes started
	err     error // the first flush's error
	wg      sync.WaitGroup
}

// newFlusher returns the flusher of dst, or nil where no early flush is
// made (a dry run, no target).
func newFlusher(dst *sysio.File, p Params, opt Options) *flusher {
	if dst == nil || p.DryRun {
		return nil
	}
	fl := &flusher{f: dst, every: flushEvery, sync: (*sysio.File).SyncData}
	if opt.testFlushEvery > 0 {
		fl.every = opt.testFlushEvery
	}
	if opt.testFlush != nil {
		fl.sync = opt.testFlush
	}
	return fl
}

// wrote counts n bytes written and starts a flush when flushEvery have
// been written since the last one started and none is running.
func (fl *flusher) wrote(n int) {
	if fl == nil {
		return
	}
	fl.mu.Lock()
	defer fl.mu.Unlock()
	fl.pending += int64(n)
	if fl.running || fl.stopped || fl.pending < fl.every {
		return
	}
	fl.pending, fl.running = 0, true
	fl.n++
	fl.wg.Add(1)
	go func() {
		defer fl.wg.Done()
		err := fl.sync(fl.f)
		fl.mu.Lock()
		if err != nil && fl.err == nil {
			fl.err = fmt.Errorf("fdatasync %s: %w", fl.f.Name(), err)
		}
		fl.running = false
		fl.mu.Unlock()
	}()
}

// stop waits for a running flush and returns the first flush's error: a
// write-back error is reported once per descriptor, so a failed early
// flush must fail the sync even if the final fsync then succeeds. No
// flush starts after stop.
func (fl *flusher) stop() error {
	if fl == nil {
		return nil
	}
	fl.mu.Lock()
	fl.stopped = true
	fl.mu.Unlock()
	fl.wg.Wait()
	fl.mu.Lock()
	defer fl.mu.Unlock()
	return fl.err
}

// flushes is how many early flushes were started (tests).
func (fl *flusher) flushes() int {
	if fl == nil {
		return 0
	}
	fl.mu.Lock()
	defer fl.mu.Unlock()
	return fl.n
}
