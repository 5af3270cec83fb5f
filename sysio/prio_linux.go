//go:build linux

package sysio

import "golang.org/x/sys/unix"

// ioprioIdle is IOPRIO_PRIO_VALUE(IOPRIO_CLASS_IDLE, 0): the thread's
// disk requests are served only when no one else's wait.
const ioprioIdle = 3 << 13

// LowerThreadPriority gives the calling thread the lowest CPU priority
// (nice 19) and the idle I/O class, for background work that must not
// slow what the agent serves (a scrub). Both are per thread on Linux, so
// the caller must hold its goroutine on its thread (runtime.LockOSThread)
// and never unlock it: the thread then ends with the goroutine, and no
// other goroutine runs at this priority. An I/O scheduler without classes
// ignores the second part.
func LowerThreadPriority() error {
	tid := unix.Gettid()
	if err := unix.Setpriority(unix.PRIO_PROCESS, tid, 19); err != nil {
		return err
	}
	if _, _, e := unix.Syscall(unix.SYS_IOPRIO_SET, 1 /* IOPRIO_WHO_PROCESS */, uintptr(tid), ioprioIdle); e != 0 {
		return e
	}
	return nil
}
