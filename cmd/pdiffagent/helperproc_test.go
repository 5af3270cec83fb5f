package main

import (
	"context"
	"io"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pdiffagent/pdiffagent/engine"
	"github.com/pdiffagent/pdiffagent/sysio/sysiotest"
)

// The process tests run this test binary itself as pdiffagent (the
// standard library's helper-process pattern): with asCLIEnv set, TestMain
// runs the command line instead of the tests (so do the children the bench
// starts, as os.Executable is this binary). Only then can a test hold a
// child at a chosen point: with holdEnv set as well, the child says "held"
// on file descriptor 3 when it gets there and waits until file descriptor
// 4 closes or the sync's context ends (a signal). holdEnv is n (its n-th
// tier-1 hash, once something was sent or written) or "commit" (its
// receiver has committed the target and not yet acknowledged it). Nothing
// of this is in the shipped binary.
const (
	asCLIEnv = "PDIFFAGENT_TEST_MAIN"
	holdEnv  = "PDIFFAGENT_TEST_HOLD"
)

// holdCommit, given to startHeld, holds a receiver at its commit.
const holdCommit = -1

func TestMain(m *testing.M) {
	if os.Getenv(asCLIEnv) == "" {
		os.Exit(m.Run())
	}
	if s := os.Getenv(holdEnv); s != "" {
		h := newHold(os.NewFile(3, "held"), os.NewFile(4, "release"))
		if s == "commit" {
			engine.TestHookCommitted = h.wait
		} else if n, err := strconv.ParseInt(s, 10, 64); err == nil && n > 0 {
			holdWeak(n, h)
		} else {
			panic(holdEnv + "=" + s)
		}
	}
	os.Exit(run(os.Args[1:]))
}

// hold is a child's end of a hold.
type hold struct {
	held     *os.File
	released chan struct{} // closed when the test closes its end
	once     sync.Once
}

func newHold(held, release *os.File) *hold {
	h := &hold{held: held, released: make(chan struct{})}
	go func() {
		io.Copy(io.Discard, release)
		close(h.released)
	}()
	return h
}

// wait says held (once) and waits for the release or for ctx to end.
func (h *hold) wait(ctx context.Context) {
	h.once.Do(func() {
		h.held.Write([]byte("held\n"))
		h.held.Close()
	})
	select {
	case <-h.released:
	case <-ctx.Done():
	}
}

// holdWeak holds the n-th tier-1 hash of this process, once one of the
// syncs' Progress shows a block sent or written (so the run is past its
// set-up and has changed something: what an interrupted run reports). A
// test that signals the process need not release it: the sync goes on
// only once it has seen the signal. Only that call waits: the other
// workers run on, but the sync cannot end while it is held.
func holdWeak(n int64, h *hold) {
	var (
		calls atomic.Int64
		mu    sync.Mutex
		progs []*engine.Progress
	)
	moved := func() bool {
		mu.Lock()
		defer mu.Unlock()
		for _, p := range progs {
			if p.Sent.Load() > 0 || p.Written.Load() > 0 {
				return true
			}
		}
		return false
	}
	engine.TestHookWeak = func(ctx context.Context, w engine.WeakFunc, prog *engine.Progress) engine.WeakFunc {
		if prog != nil {
			mu.Lock()
			progs = append(progs, prog)
			mu.Unlock()
		}
		return func(b []byte) uint64 {
			if calls.Add(1) == n {
				sysiotest.WaitUntil(time.Hour, moved) // the other workers move it
				h.wait(ctx)
			}
			return w(b)
		}
	}
}
