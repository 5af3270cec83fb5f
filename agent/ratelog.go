package agent

import (
	"sync"
	"time"
)

// logLimiter rate-limits a kind of log line that strangers can cause (a
// refused client costs one WARN each): a burst of logBurst lines, then one
// per logEvery; the first line let through after a pause says how many were
// suppressed meanwhile.
type logLimiter struct {
	mu         sync.Mutex
	now        func() time.Time // time.Now; tests may replace it
	tokens     float64
	last       time.Time
	suppressed int
}

const (
	logBurst = 10
	logEvery = 6 * time.Second // ten lines a minute once the burst is spent
)

func newLogLimiter() *logLimiter { return &logLimiter{now: time.Now, tokens: logBurst} }

// allow reports whether a line may be logged now and, if so, how many were
// suppressed since the last one.
func (l *logLimiter) allow() (ok bool, suppressed int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	if !l.last.IsZero() {
		l.tokens = min(logBurst, l.tokens+float64(now.Sub(l.last))/float64(logEvery))
	}
	l.last = now
	if l.tokens < 1 {
		l.suppressed++
		return false, 0
	}
	l.tokens--
	n := l.suppressed
	l.suppressed = 0
	return true, n
}
