package main

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/pdiffagent/pdiffagent/engine"
	"github.com/spf13/pflag"
)

// limitOptions are --bwlimit and --io-limit.
type limitOptions struct {
	BWLimit rateValue // bytes per second on the link, both ways; 0: none
	IOLimit rateValue // bytes per second read by the hashing passes; 0: none
}

// AddFlags registers --bwlimit and --io-limit.
func (o *limitOptions) AddFlags(f *pflag.FlagSet) {
	f.Var(&o.BWLimit, "bwlimit", "cap the bytes this side sends and receives, all workers together, at `RATE` per second: a bare number is KiB, with K, M or G suffixes as rsync (50M = 50 MiB/s); 0 = no limit")
	f.Var(&o.IOLimit, "io-limit", "cap the rate at which this side's hashing passes read its file, in `RATE` per second (units as --bwlimit), to spare a production volume; 0 = no limit")
}

// checkBlock refuses a --bwlimit so low that one block of bs bytes takes
// more than half of idle to cross: the peer would give up waiting.
func (o *limitOptions) checkBlock(bs int, idle time.Duration) error {
	if o.BWLimit == 0 || idle <= 0 {
		return nil
	}
	if t := time.Duration(float64(bs) / float64(o.BWLimit) * float64(time.Second)); t > idle/2 {
		return usageErrorf("--bwlimit %s: one block of %s takes %v to send, over half the idle timeout %v: lower -b or raise --idle-timeout", o.BWLimit.String(), formatSize(int64(bs)), t.Round(time.Second), idle)
	}
	return nil
}

// link is the --bwlimit rate for blocks of bs bytes, nil for none.
func (o *limitOptions) link(bs int) *engine.Rate { return o.BWLimit.rate(bs) }

// apply sets the read limit (and, for a local sync, the link's) for blocks
// of bs bytes.
func (o *limitOptions) apply(eo *engine.Options, bs int) {
	eo.ReadLimit, eo.Link = o.IOLimit.rate(bs), o.link(bs)
}

// rateValue is a rate in bytes per second written as rsync's --bwlimit: a
// bare number is KiB; K, M, G, T suffixes are binary (KiB, MiB also
// accepted), KB, MB, GB decimal; fractions allowed (1.5M).
type rateValue int64

// rate is the limiter, bursting at most one block of bs bytes; nil for 0.
func (v *rateValue) rate(bs int) *engine.Rate {
	if *v <= 0 {
		return nil
	}
	return engine.NewRate(int64(*v), bs)
}

func (v *rateValue) String() string {
	if *v == 0 {
		return "0"
	}
	return formatSize(int64(*v))
}
func (v *rateValue) Type() string { return "rate" }
func (v *rateValue) Set(s string) error {
	n, err := parseRate(s)
	if err != nil {
		return err
	}
	*v = rateValue(n)
	return nil
}

// parseRate reads rsync's --bwlimit units into bytes per second.
func parseRate(s string) (int64, error) {
	t := strings.TrimSuffix(strings.TrimSuffix(strings.ToUpper(strings.TrimSpace(s)), "/S"), "PS")
	i := strings.IndexFunc(t, func(r rune) bool { return (r < '0' || r > '9') && r != '.' })
	num, unit := t, ""
	if i >= 0 {
		num, unit = t[:i], t[i:]
	}
	x, err := strconv.ParseFloat(num, 64)
	if err != nil || x < 0 {
		return 0, fmt.Errorf("rate %q: want a number of KiB/s, or one with a K, M or G suffix (50M = 50 MiB/s)", s)
	}
	mult := map[string]float64{
		"": 1 << 10, "K": 1 << 10, "KIB": 1 << 10, "M": 1 << 20, "MIB": 1 << 20, "G": 1 << 30, "GIB": 1 << 30, "T": 1 << 40, "TIB": 1 << 40,
		"B": 1, "KB": 1e3, "MB": 1e6, "GB": 1e9, "TB": 1e12,
	}[unit]
	if mult == 0 {
		return 0, fmt.Errorf("rate %q: unknown unit %q (want K, M, G: 50M = 50 MiB/s)", s, unit)
	}
	n := int64(x * mult)
	if x > 0 && n < 512 {
		return 0, fmt.Errorf("rate %q: below 512 bytes per second", s)
	}
	return n, nil
}

// pipeChunk is the largest piece pipe mode's --bwlimit lets pass at once.
const pipeChunk = 128 << 10

// rateWriter paces writes to w through r (pipe mode's --bwlimit), in
// pieces of at most pipeChunk.
type rateWriter struct {
	ctx context.Context
	w   io.Writer
	r   *engine.Rate
}

func (rw rateWriter) Write(p []byte) (int, error) {
	done := 0
	for done < len(p) {
		c := min(len(p)-done, pipeChunk)
		if err := rw.r.Wait(rw.ctx, c); err != nil {
			return done, err
		}
		n, err := rw.w.Write(p[done : done+c])
		done += n
		if err != nil {
			return done, err
		}
	}
	return done, nil
}

// rateReader paces reads from r through rt (pipe mode's --bwlimit).
type rateReader struct {
	ctx context.Context
	r   io.Reader
	rt  *engine.Rate
}

func (rr rateReader) Read(p []byte) (int, error) {
	n, err := rr.r.Read(p[:min(len(p), pipeChunk)])
	if n > 0 {
		if werr := rr.rt.Wait(rr.ctx, n); werr != nil {
			return n, werr
		}
	}
	return n, err
}

// throttleIO wraps a pipe stage's input and output with --bwlimit.
func (o *limitOptions) throttleIO(ctx context.Context, in io.Reader, out io.Writer) (io.Reader, io.Writer) {
	r := o.link(pipeChunk)
	if r == nil {
		return in, out
	}
	if in != nil {
		in = rateReader{ctx, in, r}
	}
	if out != nil {
		out = rateWriter{ctx, out, r}
	}
	return in, out
}
