package bench

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Peak RSS of a child process. getrusage cannot be trusted for it: Linux
// starts a child's ru_maxrss at its parent's peak (exec records the RSS of
// the address space it replaces, which after a vfork-style spawn is the
// parent's), so every child smaller than the harness would report the
// harness. VmHWM in /proc/PID/status is the peak of the process's own
// address space since exec. The pdiffagent children print their own at
// exit (exact, and free); rsync's is polled while it runs (its memory is
// allocated at the start and held to the end).

// Watch says how a child's peak RSS is found.
type Watch int

const (
	// WatchNone leaves it to the child to report (getrusage is returned,
	// an upper bound at least as large as the harness's peak).
	WatchNone Watch = iota
	// WatchProcess polls the child's VmHWM.
	WatchProcess
	// WatchTree polls the child's VmHWM and those of the processes it
	// forks, and sums them.
	WatchTree
)

// rssPoll is how often a running child's VmHWM is read, rssRescan how
// often /proc is scanned for the processes a daemon forked. Both cost CPU
// that the tools being measured need: reading a status file every 10 ms
// took 5% of a core here, and scanning /proc every 5 ms a whole core.
const (
	rssPoll   = 50 * time.Millisecond
	rssRescan = 200 * time.Millisecond
)

// vmHWM is the VmHWM of a process in bytes, or 0 if it cannot be read.
func vmHWM(pid string) int64 {
	b, err := os.ReadFile("/proc/" + pid + "/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			n, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return n << 10
		}
	}
	return 0
}

// SelfPeakRSS is this process's own peak resident set in bytes (VmHWM),
// or getrusage's where /proc is missing.
func SelfPeakRSS() int64 {
	if n := vmHWM("self"); n > 0 {
		return n
	}
	return PeakRSS()
}

// rssWatch polls the VmHWM of a process and, with tree, of all its
// descendants, keeping each one's maximum.
type rssWatch struct {
	pid  int
	tree bool
	stop chan struct{}
	done sync.WaitGroup
	mu   sync.Mutex
	peak map[int]int64
}

func watchRSS(pid int, tree bool) *rssWatch {
	w := &rssWatch{pid: pid, tree: tree, stop: make(chan struct{}), peak: map[int]int64{}}
	w.done.Add(1)
	go func() {
		defer w.done.Done()
		t := time.NewTicker(rssPoll)
		defer t.Stop()
		pids := []int{pid}
		for i := 0; ; i++ {
			if tree && i%int(rssRescan/rssPoll) == 0 {
				pids = append([]int{pid}, descendants(pid)...)
			}
			w.sample(pids)
			select {
			case <-w.stop:
				return
			case <-t.C:
			}
		}
	}()
	return w
}

func (w *rssWatch) sample(pids []int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, p := range pids {
		if n := vmHWM(strconv.Itoa(p)); n > w.peak[p] {
			w.peak[p] = n
		}
	}
}

// Stop ends the polling and returns the sum of the peaks of every process
// seen (one process: its peak). Call it before the process is reaped.
func (w *rssWatch) Stop() int64 {
	close(w.stop)
	w.done.Wait()
	var sum int64
	for _, n := range w.peak {
		sum += n
	}
	return sum
}

// descendants lists the processes below pid, scanning /proc.
func descendants(pid int) []int {
	parent := map[int]int{}
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, p := range stats {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		// "pid (comm) state ppid ...": comm may hold spaces and parens.
		i := bytes.LastIndexByte(b, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(string(b[i+1:]))
		self, err1 := strconv.Atoi(filepath.Base(filepath.Dir(p)))
		if len(f) < 2 || err1 != nil {
			continue
		}
		if ppid, err := strconv.Atoi(f[1]); err == nil {
			parent[self] = ppid
		}
	}
	var out []int
	for p := range parent {
		for q := parent[p]; q > 1; q = parent[q] {
			if q == pid {
				out = append(out, p)
				break
			}
		}
	}
	return out
}
