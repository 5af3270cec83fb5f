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
// child at a chosen point: with holdEnv set to n as well, the child's n-th
// tier-1 hash, once something was sent or written, says "held" on file
// descriptor 3 and waits until file descriptor 4 closes or the sync's
// context ends (a signal). Nothing of this is in the shipped binary.
const (
	asCLIEnv = "PDIFFAGENT_TEST_MAIN"
	holdEnv  = "PDIFFAGENT_TEST_HOLD"
)

func TestMain(m *testing.M) {
	if os.Getenv(asCLIEnv) == "" {
		os.Exit(m.Run())
	}
	if s := os.Getenv(holdEnv); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n < 1 {
			panic(holdEnv + "=" + s)
		}
		installHold(n, os.NewFile(3, "held"), os.NewFile(4, "release"))
	}
	os.Exit(run(os.Args[1:]))
}

// installHold makes the n-th tier-1 hash of this process wait, once one of
// the syncs' Progress shows a block sent or written (so the run is past
// its set-up and has changed something: what an interrupted run reports),
// then say so on held and wait for release to close or for the sync's
// context to end: a test that signals the process need not release it, and
// the sync goes on only once it has seen the signal. Only that call waits:
// the other workers run on, but the sync cannot end while it is held.
func installHold(n int64, held, release *os.File) {
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
	released := make(chan struct{})
	go func() {
		io.Copy(io.Discard, release) // until the test closes its end
		close(released)
	}()
	engine.TestHookWeak = func(ctx context.Context, w engine.WeakFunc, prog *engine.Progress) engine.WeakFunc {
		if prog != nil {
			mu.Lock()
			progs = append(progs, prog)
			mu.Unlock()
		}
		return func(b []byte) uint64 {
			if calls.Add(1) == n {
				sysiotest.WaitUntil(time.Hour, moved) // the other workers move it
				held.Write([]byte("held\n"))
				held.Close()
				select {
				case <-released:
				case <-ctx.Done():
				}
			}
			return w(b)
		}
	}
}
