package sysiotest

import (
	"runtime"
	"testing"
	"time"
)

// WaitUntil polls cond until it holds, for at most d; it reports whether it
// held. It is for a state the test waits for (a log line, a session's end),
// never for time to pass; d bounds a wait that would otherwise hang and
// should be generous: a loaded machine is slow.
func WaitUntil(d time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(2 * time.Millisecond)
	}
	return true
}

// CheckGoroutines fails the test if, once it and its earlier cleanups have
// run, more goroutines remain than when it was called (allowing them ten
// seconds to end). Call it first: cleanups run last-in first-out.
func CheckGoroutines(t testing.TB) {
	t.Helper()
	before := runtime.NumGoroutine()
	t.Cleanup(func() {
		if !WaitUntil(10*time.Second, func() bool { return runtime.NumGoroutine() <= before }) {
			buf := make([]byte, 1<<20)
			n := runtime.Stack(buf, true)
			t.Errorf("goroutines: %d before, %d after\n%s", before, runtime.NumGoroutine(), buf[:n])
		}
	})
}
