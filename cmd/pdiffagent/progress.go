package main

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/pdiffagent/pdiffagent/engine"
)

// progressInterval is how often the bar is redrawn; progressLineInterval
// how often --progress=lines prints a line.
const (
	progressInterval     = 200 * time.Millisecond
	progressLineInterval = 5 * time.Second
)

// progressBar redraws one status line on a terminal from an engine.Progress.
type progressBar struct {
	w     io.Writer
	p     *engine.Progress
	total int64
	start time.Time
	lines bool          // --progress=lines: a line per progressLineInterval, no redrawing
	every time.Duration // progressInterval or progressLineInterval
	done  chan struct{}
	wg    sync.WaitGroup
	text  func() string // when set, the line instead of line() (a tree's)
}

// startProgress draws a bar for p on stderr if the options and the terminal
// allow it. The returned function stops and clears it; call it before
// printing anything else.
func (o *outputOptions) startProgress(p *engine.Progress, total int64) (stop func()) {
	return o.startProgressText(p, total, nil)
}

// startProgressText is startProgress with the line drawn by text (when
// not nil).
func (o *outputOptions) startProgressText(p *engine.Progress, total int64, text func() string) (stop func()) {
	lines := o.Progress == progressLines
	show := lines || o.Progress == progressAlways ||
		(o.Progress != progressNever && o.Progress != progressLines && !o.Quiet && isTerminal(os.Stderr))
	if !show {
		return func() {}
	}
	b := &progressBar{w: os.Stderr, p: p, total: total, start: time.Now(), lines: lines, every: progressInterval, done: make(chan struct{}), text: text}
	if lines {
		b.every = progressLineInterval
	}
	b.wg.Add(1)
	go b.loop()
	return func() {
		close(b.done)
		b.wg.Wait()
	}
}

func (b *progressBar) loop() {
	defer b.wg.Done()
	t := time.NewTicker(b.every)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			line := b.line
			if b.text != nil {
				line = b.text
			}
			if b.lines {
				fmt.Fprintln(b.w, "progress: "+line())
			} else {
				fmt.Fprint(b.w, "\r"+line()+"\x1b[K")
			}
		case <-b.done:
			if !b.lines {
				fmt.Fprint(b.w, "\r\x1b[K")
			}
			return
		}
	}
}

// line is the bar's text: share compared, bytes written, rate and ETA.
func (b *progressBar) line() string {
	compared, written := b.p.Compared.Load(), b.p.Written.Load()
	elapsed := time.Since(b.start).Seconds()
	pct := 100.0
	if b.total > 0 {
		pct = 100 * float64(compared) / float64(b.total)
	}
	rate := 0.0
	if elapsed > 0 {
		rate = float64(compared) / elapsed
	}
	eta := "--:--"
	if rate > 0 {
		eta = formatClock(float64(b.total-compared) / rate)
	}
	return fmt.Sprintf("%5.1f%% %s / %s compared, %s written, %s/s, ETA %s",
		pct, formatBytes(compared), formatBytes(b.total), formatBytes(written),
		formatBytes(int64(rate)), eta)
}

// formatClock renders seconds as m:ss or h:mm:ss.
func formatClock(s float64) string {
	t := int64(s + 0.5)
	if t >= 3600 {
		return fmt.Sprintf("%d:%02d:%02d", t/3600, t/60%60, t%60)
	}
	return fmt.Sprintf("%d:%02d", t/60, t%60)
}
