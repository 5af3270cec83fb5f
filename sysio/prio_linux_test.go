package sysio

import (
	"runtime"
	"testing"

	"golang.org/x/sys/unix"
)

// TestLowerThreadPriority: the calling thread gets the idle I/O class and
// nice 19; other threads keep theirs.
func TestLowerThreadPriority(t *testing.T) {
	// prio is tid's nice value and I/O priority (-1 where unknown).
	prio := func(tid int) (nice int, ioprio uintptr) {
		p, err := unix.Getpriority(unix.PRIO_PROCESS, tid)
		if err != nil {
			return -1, 0
		}
		io, _, e := unix.Syscall(unix.SYS_IOPRIO_GET, 1, uintptr(tid), 0)
		if e != 0 {
			return -1, 0
		}
		return 20 - p, io // the raw syscall returns 20 - nice
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	mine := unix.Gettid()
	nice0, io0 := prio(mine)
	if nice0 < 0 {
		t.Fatal("getpriority or ioprio_get failed")
	}
	type got struct {
		tid, nice int
		io        uintptr
		err       error
	}
	c := make(chan got)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread ends with the goroutine
		err := LowerThreadPriority()
		tid := unix.Gettid()
		nice, io := prio(tid)
		c <- got{tid, nice, io, err}
	}()
	g := <-c
	if g.err != nil || g.tid == mine || g.nice != 19 || g.io>>13 != 3 {
		t.Errorf("lowered thread %d: nice %d, ioprio %#x (%v); want 19 and class 3 (idle)", g.tid, g.nice, g.io, g.err)
	}
	if nice, io := prio(mine); nice != nice0 || io != io0 {
		t.Errorf("this thread changed too: nice %d ioprio %#x, was %d %#x", nice, io, nice0, io0)
	}
}
