package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/pdiffagent/pdiffagent/bench"
	"github.com/pdiffagent/pdiffagent/engine"
	"github.com/spf13/cobra"
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
	Identical bool `json:"identical"`
	// Error and ErrorCode say why the command failed (errorCode's list).
	Error     string `json:"error,omitempty"`
	ErrorCode string `json:"error_code,omitempty"`

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

// reset zeroes the progress before a sync runs again (--retries).
func (r *syncReporter) reset() {
	r.prog.Compared.Store(0)
	r.prog.Written.Store(0)
	r.prog.Sent.Store(0)
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
		} else if !r.atomic && (r.prog.Written.Load() > 0 || r.prog.Sent.Load() > 0) {
			// A failure after writes (ENOSPC, a lost peer): say so.
			err = &partlyUpdatedError{err}
		}
		return &resultError{res: &res, err: err}
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
		if res.BlocksRefined > 0 {
			fmt.Fprintf(r.stderr, "%d changed blocks refined: %d sub-blocks sent, the rest confirmed by strong hash\n", res.BlocksRefined, res.SubBlocksSent)
		}

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

func (r *syncReporter) printJSON(res result) { printJSONTo(r.stdout, res) }

// resultError is a failure with what was done before it, for --json: the
// one object printed (by printFailureJSON) is res with the error.
type resultError struct {
	res *result // nil: the command printed its own object already

	to  io.Writer // nil: stdout
	err error
}

func (e *resultError) Error() string { return e.err.Error() }
func (e *resultError) Unwrap() error { return e.err }

// printFailureJSON prints the one --json object of a command that failed:
// its partial result when it returned a *resultError, otherwise only the
// error. It is the only place that prints a failure as JSON, so usage
// errors, failures before a sync started and interruptions all print one
// object. A dry run that found differences printed its result already.
func printFailureJSON(ctx context.Context, cmd *cobra.Command, args []string, err error) {
	code := errorCode(ctx, err)
	if code == "" || !wantJSON(cmd, args) {
		return
	}
	var (
		re  *resultError
		res result
		to  io.Writer = os.Stdout
	)
	if errors.As(err, &re) {
		if re.res == nil {
			return // the command printed its object
		}
		res = *re.res
		if re.to != nil {
			to = re.to
		}
	}
	res.Error, res.ErrorCode = err.Error(), code
	if re == nil {
		printJSONTo(to, struct {
			Error     string `json:"error"`
			ErrorCode string `json:"error_code"`
		}{res.Error, res.ErrorCode})
		return
	}
	printJSONTo(to, res)
}

// wantJSON reports whether the command line asked for --json: the parsed
// flag, or, when parsing failed before it or no command matched, the word
// itself before any "--".
func wantJSON(cmd *cobra.Command, args []string) bool {
	if cmd != nil {
		if f := cmd.Flags().Lookup("json"); f != nil && f.Changed {
			return f.Value.String() == "true"
		}
	}
	for _, a := range args {
		switch a {
		case "--":
			return false
		case "--json", "--json=true":
			return true
		}
	}
	return false
}

// summary is the one-line human account of a finished sync.
func summary(r result) string {
	pct := 0.0
	if r.BlocksTotal > 0 {
		pct = 100 * float64(r.BlocksChanged) / float64(r.BlocksTotal)
	}
	rate := ""
	if r.Seconds > 0 {
		rate = fmt.Sprintf(" (%s/s)", formatBytes(int64(float64(r.BytesRange)/r.Seconds)))
	}
	switch {
	case r.DryRun && r.Identical:
		return fmt.Sprintf("identical: %s, all %d blocks confirmed in %.2f s%s",
			formatBytes(r.BytesRange), r.BlocksTotal, r.Seconds, rate)
	case r.DryRun:
		return fmt.Sprintf("dry run, %s compared: %d of %d blocks differ (%.1f%%) in %.2f s%s, similarity %.3f",
			formatBytes(r.BytesRange), r.BlocksChanged, r.BlocksTotal, pct, r.Seconds, rate, r.Similarity)
	}
	verified := "NOT verified"
	if r.Verified {
		verified = "verified"
	}
	moved := ""
	if r.BlocksMoved > 0 { // changed blocks assembled in part from data found elsewhere in the target
		moved = fmt.Sprintf(", %d of them from moved data (%s reused)", r.BlocksMoved, formatBytes(r.BytesReused))
	}
	return fmt.Sprintf("synced %s: %d of %d blocks changed (%.1f%%)%s, wrote %s (%s on the wire) in %.2f s%s, similarity %.3f, %s%s",
		formatBytes(r.BytesRange), r.BlocksChanged, r.BlocksTotal, pct, moved, formatBytes(r.BytesWritten), formatBytes(r.BytesWire),
		r.Seconds, rate, r.Similarity, verified, readSummary(r))
}

// readSummary says what each side read and how it used its block-hash
// cache: "; read: source 1.0 GiB (cache: miss), target 0 B (cache: hit)".
// A side that did not say (an older peer) is left out.
func readSummary(r result) string {
	var parts []string
	for _, s := range []struct {
		name, word string
		read       int64
	}{{"source", r.SourceCache, r.SourceRead}, {"target", r.TargetCache, r.TargetRead}} {
		if s.word != "" {
			parts = append(parts, fmt.Sprintf("%s %s (cache: %s)", s.name, formatBytes(s.read), s.word))
		}
	}
	if len(parts) == 0 {
		return ""
	}
	return "; read: " + strings.Join(parts, ", ")
}

// formatBytes renders n in binary units: "512 B", "1.5 KiB", "2.0 GiB".
func formatBytes(n int64) string { return bench.FormatBytes(n) }
