package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/pdiffagent/pdiffagent/bench"
	"github.com/pdiffagent/pdiffagent/engine"
)

// result is what a sync command prints: the engine's Stats and, for push
// and pull, how the data travelled. With --json it is the one object on
// stdout.
type result struct {
	engine.Stats
	Transport   string `json:"transport,omitempty"`   // push/pull: "quic" or "tcp"
	Connections int    `json:"connections,omitempty"` // push/pull: network connections used
	// Identical is true when the target equals the source at the end: after
	// a verified sync, or already, in a dry run. It is what exit status 0
	// means.
	Identical bool   `json:"identical"`
	Error     string `json:"error,omitempty"`

	// sizeNote, when set by the caller, says that the target's size differs
	// from the source's (so a dry run cannot call it identical) and how.
	sizeNote string
}

// syncReporter follows one sync for the user: a progress bar while it
// runs, the result when it ends. Push and pull use it as sync does.
type syncReporter struct {
	o       *outputOptions
	stdout  io.Writer
	stderr  io.Writer
	prog    engine.Progress
	total   int64
	start   time.Time
	stopBar func()
	atomic  bool // --atomic: an unfinished sync leaves the target as it was
}

// newReporter starts following a sync of total source bytes.
func (o *outputOptions) newReporter(total int64) *syncReporter {
	r := &syncReporter{o: o, stdout: os.Stdout, stderr: os.Stderr, total: total, start: time.Now()}
	r.stopBar = o.startProgress(&r.prog, total)
	return r
}

// Progress is what the engine should update.
func (r *syncReporter) Progress() *engine.Progress { return &r.prog }

// finish stops the progress bar, prints the outcome and returns the error
// that decides the exit status: err itself (wrapped with what was done if
// the context was cancelled), an error if a sync ended unverified, or
// errDiffers for a dry run that found differences.
func (r *syncReporter) finish(ctx context.Context, res result, err error) error {
	r.stopBar()
	if err == nil && !res.DryRun && !res.Verified {
		err = errors.New("the sync ended but the target was not verified")
	}
	if err != nil {
		if ctx.Err() != nil {
			err = &interruptedError{done: r.done(), err: err}
		}
		if r.o.JSON {
			res.Error = err.Error()
			r.printJSON(res)
		}
		return err
	}
	res.Identical = res.Verified ||
		(res.DryRun && res.sizeNote == "" && res.BlocksChanged == 0 && res.BlocksConfirmed == res.BlocksTotal)
	switch {
	case r.o.JSON:
		r.printJSON(res)
	case !r.o.Quiet:
		fmt.Fprintln(r.stdout, summary(res))
		if res.DryRun && res.sizeNote != "" {
			fmt.Fprintln(r.stdout, res.sizeNote)
		}
	}
	if res.TargetTailKept > 0 && !r.o.Quiet {
		fmt.Fprintf(r.stderr, "note: the target device is %s larger than the source; its last %d bytes were left untouched\n",
			formatBytes(res.TargetTailKept), res.TargetTailKept)
	}
	if r.o.Verbose > 0 {
		if !res.DryRun && res.sizeNote != "" {
			fmt.Fprintln(r.stderr, res.sizeNote)
		}
		fmt.Fprintf(r.stderr, "sent %s of block data, %s on the wire both ways; %d blocks confirmed by strong hash; %d weak-hash collisions; %d zero blocks\n",
			formatBytes(res.BytesSent), formatBytes(res.BytesWire), res.BlocksConfirmed, res.WeakCollisions, res.BlocksZero)
	}
	if !res.Identical {
		return errDiffers
	}
	return nil
}

// done is a one-line account of an unfinished sync.
func (r *syncReporter) done() string {
	compared, sent, written := r.prog.Compared.Load(), r.prog.Sent.Load(), r.prog.Written.Load()
	var parts []string
	if compared > 0 || r.total > 0 { // a pull's receiver knows neither
		parts = append(parts, fmt.Sprintf("compared %s of %s", formatBytes(compared), formatBytes(r.total)))
	}
	if sent > 0 {
		parts = append(parts, "sent "+formatBytes(sent))
	}
	if written > 0 || sent == 0 { // a push's writes are the server's
		parts = append(parts, "wrote "+formatBytes(written))
	}
	s := fmt.Sprintf("%s in %.1f s", strings.Join(parts, ", "), time.Since(r.start).Seconds())
	switch {
	case r.atomic:
		s += "; the target is unchanged (--atomic)"
	case r.prog.Written.Load() > 0 || r.prog.Sent.Load() > 0:
		s += "; the target is partly updated: run the same command again to complete it"
	}
	return s
}

func (r *syncReporter) printJSON(res result) {
	b, err := json.Marshal(res)
	if err != nil {
		panic(err) // plain numbers and strings always encode
	}
	fmt.Fprintf(r.stdout, "%s\n", b)
}

// summary is the one-line human account of a finished sync.
func summary(r result) string {
	pct := 0.0
	if r.BlocksTotal > 0 {
		pct = 100 * float64(r.BlocksChanged) / float64(r.BlocksTotal)
	}
	rate := ""
	if r.Seconds > 0 {
		rate = fmt.Sprintf(" (%s/s)", formatBytes(int64(float64(r.BytesTotal)/r.Seconds)))
	}
	switch {
	case r.DryRun && r.Identical:
		return fmt.Sprintf("identical: %s, all %d blocks confirmed in %.2f s%s",
			formatBytes(r.BytesTotal), r.BlocksTotal, r.Seconds, rate)
	case r.DryRun:
		return fmt.Sprintf("dry run, %s compared: %d of %d blocks differ (%.1f%%) in %.2f s%s, similarity %.3f",
			formatBytes(r.BytesTotal), r.BlocksChanged, r.BlocksTotal, pct, r.Seconds, rate, r.Similarity)
	}
	verified := "NOT verified"
	if r.Verified {
		verified = "verified"
	}
	return fmt.Sprintf("synced %s: %d of %d blocks changed (%.1f%%), wrote %s (%s on the wire) in %.2f s%s, similarity %.3f, %s",
		formatBytes(r.BytesTotal), r.BlocksChanged, r.BlocksTotal, pct, formatBytes(r.BytesWritten), formatBytes(r.BytesWire),
		r.Seconds, rate, r.Similarity, verified)
}

// formatBytes renders n in binary units: "512 B", "1.5 KiB", "2.0 GiB".
func formatBytes(n int64) string { return bench.FormatBytes(n) }
