package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/spf13/pflag"
)

// retryOptions are --retries: a sync whose failure is worth retrying
// (retryable: network, busy, changed) is run again in-process.
type retryOptions struct {
	Retries int
	// firstWait is the wait before the first retry, doubled before each
	// next one up to maxRetryWait; zero means a second (tests shorten it).
	firstWait time.Duration
}

const maxRetryWait = time.Minute

// AddFlags registers --retries.
func (o *retryOptions) AddFlags(f *pflag.FlagSet) {
	f.IntVar(&o.Retries, "retries", 0, "run again up to `N` times after a failure worth retrying (network lost, peer busy, source changed), waiting 1s, 2s, 4s… (at most 1m) between runs")
}

func (o *retryOptions) check() error {
	if o.Retries < 0 {
		return usageErrorf("--retries %d: must be 0 or more", o.Retries)
	}
	return nil
}

// do runs attempt until it succeeds, fails for good, or the retries are
// spent, saying on log why it runs again. before is called before every
// run after the first (to reset the progress counters).
func (o *retryOptions) do(ctx context.Context, log io.Writer, before func(), attempt func() error) error {
	wait := o.firstWait
	if wait <= 0 {
		wait = time.Second
	}
	for n := 0; ; n++ {
		err := attempt()
		code := errorCode(ctx, err)
		if err == nil || n >= o.Retries || !retryable(code) {
			return err
		}
		fmt.Fprintf(log, "pdiffagent: run %d of %d failed (%s): %v; running again in %v\n", n+1, o.Retries+1, code, err, wait)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return err
		case <-t.C:
		}
		wait = min(2*wait, maxRetryWait)
		before()
	}
}
