package bench

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Usage is what a child process used.
type Usage struct {
	// PeakRSS is found as the Watch says (see rss.go).
	PeakRSS int64
	// CPU is its user and system seconds, and those of the processes it
	// reaped (getrusage through wait4: unlike the peak RSS, exact).
	CPU float64
	// Last is the last line a Daemon printed on stdout.
	Last string
}

func cpuSeconds(ps *os.ProcessState) float64 {
	if ps == nil {
		return 0
	}
	return (ps.UserTime() + ps.SystemTime()).Seconds()
}

// RunChild runs name with args to its end and returns its stdout and what
// it used. A failure carries the end of its stderr.
func RunChild(ctx context.Context, w Watch, name string, args ...string) (stdout []byte, u Usage, err error) {
	cmd := exec.CommandContext(ctx, name, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	setPdeathsig(cmd)
	if err := cmd.Start(); err != nil {
		return nil, u, err
	}
	if w != WatchNone {
		// Stop polling when the child exits, before Wait reaps it.
		watch := watchRSS(cmd.Process.Pid, w == WatchTree)
		waitExit(cmd.Process.Pid)
		u.PeakRSS = watch.Stop()
	}
	err = cmd.Wait()
	if u.PeakRSS == 0 {
		u.PeakRSS = childPeakRSS(cmd.ProcessState)
	}
	u.CPU = cpuSeconds(cmd.ProcessState)
	if err != nil {
		err = fmt.Errorf("%s: %w%s", filepath.Base(name), err, tail(errb.Bytes()))
	}
	return out.Bytes(), u, err
}

// tail is the end of a child's stderr, for an error message.
func tail(b []byte) string {
	s := strings.TrimSpace(string(b))
	if len(s) > 400 {
		s = "…" + s[len(s)-400:]
	}
	if s == "" {
		return ""
	}
	return ": " + s
}

// Daemon is a long-running child process, a server, stopped by SIGTERM.
type Daemon struct {
	cmd    *exec.Cmd
	stderr bytes.Buffer
	watch  *rssWatch // nil: not watched
	tree   bool
	done   chan error
	mu     sync.Mutex
	last   string // the last line printed on stdout
}

// StartDaemon starts name with args and watches its peak RSS as w says
// (an rsync daemon forks a process per connection: WatchTree). With
// wantLine it waits, at most timeout, for the
// first line the child prints on stdout (a server's address) and returns
// it.
func StartDaemon(ctx context.Context, w Watch, wantLine bool, timeout time.Duration, name string, args ...string) (*Daemon, string, error) {
	d := &Daemon{cmd: exec.Command(name, args...), done: make(chan error, 1), tree: w == WatchTree}
	d.cmd.Stderr = &d.stderr
	setPdeathsig(d.cmd)
	out, err := d.cmd.StdoutPipe()
	if err != nil {
		return nil, "", err
	}
	if err := d.cmd.Start(); err != nil {
		return nil, "", err
	}
	if w != WatchNone {
		d.watch = watchRSS(d.cmd.Process.Pid, d.tree)
	}
	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for first := true; sc.Scan(); first = false {
			d.mu.Lock()
			d.last = strings.TrimSpace(sc.Text())
			d.mu.Unlock()
			if first {
				lines <- d.last
			}
		}
		close(lines)
		waitExit(d.cmd.Process.Pid)
		d.done <- nil
	}()
	if !wantLine {
		return d, "", nil
	}
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case line, ok := <-lines:
		if ok && line != "" {
			return d, line, nil
		}
		d.Stop()
		return nil, "", fmt.Errorf("%s exited before it was ready%s", filepath.Base(name), tail(d.stderr.Bytes()))
	case <-t.C:
	case <-ctx.Done():
	}
	d.Stop()
	return nil, "", fmt.Errorf("%s not ready after %v%s", filepath.Base(name), timeout, tail(d.stderr.Bytes()))
}

// Stop waits (at most 2 s) for the processes a tree daemon forked to end,
// sends it SIGTERM, waits for it (SIGKILL after 10 s) and returns what it
// used: the sum of the peak RSS of the daemon and its forks (0 if not
// watched), the CPU time of all of them, the last line it printed. An
// exit caused by the signal is not an error.
func (d *Daemon) Stop() (u Usage, err error) {
	pid := d.cmd.Process.Pid
	for deadline := time.Now().Add(2 * time.Second); d.tree && len(descendants(pid)) > 0 && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
	}
	d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-d.done:
	case <-time.After(10 * time.Second):
		d.cmd.Process.Kill()
		<-d.done
	}
	if d.watch != nil {
		u.PeakRSS = d.watch.Stop()
	}
	err = d.cmd.Wait()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		err = nil // SIGTERM ends servers with a non-zero status
	}
	u.CPU = cpuSeconds(d.cmd.ProcessState)
	d.mu.Lock()
	defer d.mu.Unlock()
	u.Last = d.last
	return u, err
}
