package main

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"

	"github.com/pdiffagent/pdiffagent/bench"
	"github.com/pdiffagent/pdiffagent/engine"
	"github.com/pdiffagent/pdiffagent/wire"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

type benchOptions struct {
	Size        sizeValue
	Changed     []string
	Pattern     string
	Dir         string
	Keep        bool
	Seed        int64
	BlockSize   blockSizeValue
	Concurrency int
	Hash        hashValue
	JSON        bool
	Save        string
	Quiet       bool
}

func (o *benchOptions) AddFlags(f *pflag.FlagSet) {
	o.Size = 1 << 30
	o.BlockSize = engine.DefaultBlockSize
	o.Hash = hashValue(engine.SHA256)
	f.Var(&o.Size, "size", "size of the test file (e.g. 256M, 1G, 4G)")
	f.StringSliceVar(&o.Changed, "changed", []string{"10%"}, "share of blocks changed per round, comma-separated (e.g. 0%,1%,10%,100% or 0.5)")
	f.StringVar(&o.Pattern, "pattern", "random", "where changes go: random, prefix or insert")
	f.StringVar(&o.Dir, "dir", "", "directory for the work files (default: a temporary directory under the current one; not tmpfs)")
	f.BoolVar(&o.Keep, "keep", false, "keep the work directory")
	f.Int64Var(&o.Seed, "seed", 1, "seed of the test data")
	f.VarP(&o.BlockSize, "block-size", "b", "block size")
	f.IntVarP(&o.Concurrency, "concurrency", "c", runtime.NumCPU(), "workers")
	f.VarP(&o.Hash, "hash", "m", "tier-2 hash: sha256 or sha512_256")
	f.BoolVar(&o.JSON, "json", false, "print the report as JSON on stdout instead of a table")
	f.StringVar(&o.Save, "save", "", "also write the JSON report to this file")
	f.BoolVarP(&o.Quiet, "quiet", "q", false, "no step messages on stderr")
}

func newBenchCommand(opts *benchOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "bench [flags]",
		Short: "Measure sync speed against the hardware's floors",
		Long: `bench generates a random source file, then for each --changed share copies it,
changes that share of its blocks, warms both files in the page cache and
measures: the floors (a page-cache read of both copies, and sha256 of their
matching blocks on all cores), then a sync, then a byte-for-byte check.

The sha256 floor is the least time any verified sync can take; RATIO is the
sync's time over the larger of the two floors. CACHE says whether both files
were fully in the page cache (mincore) when the sync started. PEAK RSS is
getrusage's process-wide maximum, so it includes the harness.`,
		Args: exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runBench(cmd.Context(), opts)
		},
	}
	opts.AddFlags(cmd.Flags())
	return cmd
}

// parseChanged reads "10%" or "0.1" as a fraction of blocks.
func parseChanged(s string) (float64, error) {
	t := strings.TrimSpace(s)
	pct := strings.HasSuffix(t, "%")
	v, err := strconv.ParseFloat(strings.TrimSuffix(t, "%"), 64)
	if pct {
		v /= 100
	}
	if err != nil || !(v >= 0 && v <= 1) {
		return 0, fmt.Errorf("changed %q: want a percentage like 10%% or a fraction from 0 to 1", s)
	}
	return v, nil
}

func runBench(ctx context.Context, opts *benchOptions) error {
	var changed []float64
	for _, s := range opts.Changed {
		v, err := parseChanged(s)
		if err != nil {
			return &usageError{err}
		}
		changed = append(changed, v)
	}
	pat, err := bench.ParsePattern(opts.Pattern)
	if err != nil {
		return &usageError{err}
	}
	if opts.Concurrency < 1 || opts.Concurrency > wire.MaxWorkers {
		return usageErrorf("concurrency %d: must be from 1 to %d", opts.Concurrency, wire.MaxWorkers)
	}
	base := opts.Dir
	if base == "" {
		base = "."
	}
	if err := os.MkdirAll(base, 0o755); err != nil {
		return err
	}
	work, err := os.MkdirTemp(base, "pdiffagent-bench-")
	if err != nil {
		return err
	}
	if !opts.Keep {
		defer os.RemoveAll(work)
	}
	logf := func(format string, args ...any) {
		if !opts.Quiet {
			fmt.Fprintf(os.Stderr, "bench: "+format+"\n", args...)
		}
	}
	if bench.IsTmpfs(work) {
		logf("warning: %s is on tmpfs; the numbers say nothing about disks", work)
	}
	p := engine.Params{BlockSize: int(opts.BlockSize), Workers: opts.Concurrency, Strong: engine.StrongHash(opts.Hash)}
	cfg := bench.Config{
		Dir: work, Size: int64(opts.Size), Changed: changed, BlockSize: int(opts.BlockSize),
		Pattern: pat, Seed: opts.Seed, Log: logf,
		Tools: []bench.Tool{{
			Name: "pdiffagent",
			Sync: func(ctx context.Context, src, dst string) (engine.Stats, error) {
				return engine.SyncLocal(ctx, src, dst, p, engine.Options{})
			},
		}},
	}
	if !opts.JSON {
		bench.WriteTableHeader(os.Stdout)
		cfg.Result = func(r bench.Result) { bench.WriteTableRow(os.Stdout, r) }
	}
	rep, runErr := bench.Run(ctx, cfg)
	if opts.JSON && rep != nil {
		if err := bench.WriteJSON(os.Stdout, rep); err != nil && runErr == nil {
			runErr = err
		}
	}
	if opts.Save != "" && rep != nil {
		if err := saveReport(opts.Save, rep); err != nil && runErr == nil {
			runErr = err
		}
	}
	return runErr
}

func saveReport(path string, rep *bench.Report) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := bench.WriteJSON(f, rep); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
