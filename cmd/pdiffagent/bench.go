package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"slices"

	"github.com/pdiffagent/pdiffagent/bench"
	"github.com/pdiffagent/pdiffagent/engine"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

type benchOptions struct {
	Size        sizeValue
	Sizes       []string
	Rounds      int
	Repeat      int
	Changed     []string
	Patterns    []string
	Pages       []int64
	InsertLens  []string
	Tools       []string
	VsRsync     bool
	Cold        bool
	Connections int
	FloorBytes  sizeValue
	Dir         string
	Keep        bool
	Seed        int64
	gridOptions
	refineOptions
	workerOptions
	readOptions
	benchTreeOptions
	JSON  bool
	CSV   bool
	Save  string
	Out   string
	Quiet bool
}

func (o *benchOptions) AddFlags(f *pflag.FlagSet) {
	o.Size = 1 << 30
	f.Var(&o.Size, "size", "size of the random source file (e.g. 256M, 1G, 4G)")
	f.StringSliceVar(&o.Sizes, "sizes", nil, "scale mode: run every round at each of these sizes (e.g. 1G,2G,4G,8G) and report how time and peak RSS grow")
	f.IntVar(&o.Rounds, "rounds", 10, "number of changed fractions, evenly spaced from 10% to 100% (10: 10%, 20%, … 100%; 3: 10%, 55%, 100%)")
	f.IntVar(&o.Repeat, "repeat", 1, "run every tool this many times per round (alternating) and keep its fastest run")
	f.StringSliceVar(&o.Changed, "changed", nil, "explicit changed fractions instead of --rounds, comma-separated (e.g. 0%,1%,10%,100% or 0.5)")
	f.StringSliceVar(&o.Patterns, "pattern", []string{"random"}, "where changes go, comma-separated: random (a few bytes of each chosen block), blocks (chosen blocks wholly replaced by random data), prefix (pdiffcopy's way), pages (--pages random 8 KiB pages rewritten, as a database does) insert (--insert-len bytes, 4 KiB, inserted 1 MiB into the file, shifting everything after it; a round each) and/or inserts (100 insertions of 100 bytes at random offsets; one round)")
	f.StringSliceVar(&o.InsertLens, "insert-len", []string{"4K"}, "with --pattern insert: how many bytes to insert 1 MiB into the target's copy (the sync deletes them), one round each (e.g. 4K,2M)")
	f.Int64SliceVar(&o.Pages, "pages", []int64{100, 1000}, "with --pattern pages: how many random 8 KiB pages to rewrite, one round each")
	f.StringSliceVar(&o.Tools, "tools", []string{"local", "tcp", bench.Cached, "quic"}, "pdiffagent modes to run: local (sync), tcp and quic (push over loopback), cached (tcp with block-hash records on both sides, made by an untimed push before: the steady state of replication)")
	f.BoolVar(&o.VsRsync, "vs-rsync", false, "also run rsync --inplace --no-whole-file against an rsync daemon on loopback")
	f.BoolVar(&o.Cold, "cold", false, "evict both files from the page cache before every sync (fdatasync + fadvise DONTNEED)")
	f.IntVar(&o.Connections, "connections", 1, "QUIC connections the workers' streams are spread over (TCP always uses one connection per worker)")
	f.Var(&o.FloorBytes, "floor-bytes", "bytes each network floor sends (default: the size, at most 1G)")
	f.StringVar(&o.Dir, "dir", "", "directory for the work files (default: a temporary directory under the current one; not tmpfs)")
	f.BoolVar(&o.Keep, "keep", false, "keep the work directory")
	f.Int64Var(&o.Seed, "seed", 1, "seed of the test data")
	o.gridOptions.AddFlags(f)
	o.refineOptions.AddFlags(f)
	o.workerOptions.AddFlags(f)
	o.readOptions.AddFlags(f)
	o.benchTreeOptions.AddFlags(f)
	f.BoolVar(&o.JSON, "json", false, "print the report as JSON on stdout instead of tables")
	f.BoolVar(&o.CSV, "csv", false, "print one CSV row per sync on stdout instead of tables")
	f.StringVar(&o.Save, "save", "", "also write the JSON report to this file")
	f.StringVar(&o.Out, "out", "", "write the report (txt, md, json, csv, svg) to this directory, timestamped and as latest.*")
	f.BoolVarP(&o.Quiet, "quiet", "q", false, "no step messages on stderr")
}

func newBenchCommand(opts *benchOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "bench [flags]",
		Short: "Measure sync speed side by side with rsync and the hardware's floors",
		Long: `bench generates a random source file (incompressible) and a copy, then for
each changed fraction changes that share of the copy's blocks and brings it
back with each tool in turn (the order rotates), verifying the result byte
for byte. Tools: local (the engine of pdiffagent sync), tcp and quic
(pdiffagent push to a server on 127.0.0.1 with throwaway identities; no
block-hash cache), cached (the tcp push with block-hash records on both
sides: before each timed push, an untimed one records the replica as it is
on the server, and the source's record is made stale, as a changed
source's: the steady state of replication), and with --vs-rsync rsync
--inplace --no-whole-file to an rsync daemon on 127.0.0.1 (rsync's
default block size). Each end runs as a child process,
so CLIENT RSS and SERVER RSS are each end's own peak (VmHWM; for rsync
polled, and summed over the daemon's processes), and CPU S/GB their CPU
seconds per GB of source. FLUSH is an fsync of the target after the tool
ended, not counted in its time (pdiffagent fsyncs before it succeeds,
rsync does not).

The side-by-side table has one row per round: DATA is the size of the
changed blocks, RSYNC/TCP rsync's time over tcp's, LOCAL/FLOOR the local
sync's time over the larger disk floor. Floors, measured in the same run:
SHA256 FLOOR (sha256 of the matching blocks of both copies on all cores,
four blocks at a time as the engine hashes them: the least work a
verified sync does; BLAKE3 FLOOR with -m blake3), READ FLOOR (page-cache read of both
copies), WRITE FLOOR (the changed bytes written beside the target as a
sync writes them: O_DIRECT, a writer per worker, fdatasync; before the
first sync of each repetition, the fastest), and the time plain TCP, TLS 1.3 (one connection per worker) and
raw quic-go (--connections connections, one stream per worker) need for
the round's changed bytes, each sent from one child process to another as
the syncs are. CACHED/TCP is the cached push's time over the uncached
one's, CACHED READ what its server read and how it used its record. CACHE says whether both files were in the page
cache (mincore) when each sync started. "other load" is the CPU other
processes used meanwhile; "noise" how much repeated runs differed.

With --tree, a tree case follows: 2,000 files of 4 KiB to 2 MiB and three
of 512 MiB (sizes times --tree-scale), 5% of the small files rewritten and
10% of the large files' blocks changed, brought back by pdiffagent push
DIR/ HOST:PORT/PATH over TCP and by rsync -a --inplace --no-whole-file to
its daemon, each verified (bytes, modes, mtimes), then both run again with
nothing changed. The push runs with default flags: both ends keep a
block-hash cache, so from the second repetition on (--repeat) the records
made by the previous push are used (the steady state of a replica made and
kept by pdiffagent); tcp-nocache is the same push with --no-cache. A build
whose push does not take directories reports the tcp tool as skipped.

The output ends with the targets, each marked PASS or MISS. The exit status
is 0 when every sync was verified, whatever the targets say.`,
		Example: `  pdiffagent bench --size 256M --rounds 3 --vs-rsync
  pdiffagent bench --size 2G --vs-rsync --pattern random,insert --out bench/results
  pdiffagent bench --size 1G --vs-rsync --pattern pages --pages 100,1000 --tools tcp
  pdiffagent bench --sizes 1G,2G,4G,8G --changed 10%,100% --tools tcp,quic
  pdiffagent bench --size 64M --rounds 1 --tools tcp --vs-rsync --tree --tree-scale 0.01`,
		Args: exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runBench(cmd.Context(), opts, cmd.Flags().Changed("rounds"))
		},
	}
	opts.AddFlags(cmd.Flags())
	cmd.AddCommand(newPeerServeCommand(), newPeerPushCommand(), newPeerSyncCommand(),
		newPeerFloorServeCommand(), newPeerFloorSendCommand())
	return cmd
}

// benchConfig checks the flags and turns them into a bench.Config (without
// Dir and Tools).
func benchConfig(opts *benchOptions, roundsSet bool) (bench.Config, error) {
	cfg := bench.Config{BlockSize: int(opts.BlockSize), Hash: runHash(opts), Seed: opts.Seed, Cold: opts.Cold, Repeat: opts.Repeat}
	if opts.Repeat < 1 || opts.Repeat > 100 {
		return cfg, usageErrorf("repeat %d: want 1 to 100", opts.Repeat)
	}
	if opts.Size <= 0 && len(opts.Sizes) == 0 {
		return cfg, usageErrorf("--size %d: want a positive size", opts.Size)
	}
	var err error
	switch {
	case len(opts.Changed) > 0 && roundsSet:
		return cfg, usageErrorf("--rounds and --changed: give one")
	case len(opts.Changed) > 0:
		cfg.Changed, err = bench.ParseFractions(opts.Changed)
	default:
		cfg.Changed, err = bench.RoundFractions(opts.Rounds)
	}
	if err != nil {
		return cfg, &usageError{err}
	}
	for _, s := range opts.Patterns {
		p, err := bench.ParsePattern(s)
		if err != nil {
			return cfg, &usageError{err}
		}
		cfg.Patterns = append(cfg.Patterns, p)
	}
	for _, n := range opts.Pages {
		if n < 0 {
			return cfg, usageErrorf("--pages %d: want a count of pages, 0 or more", n)
		}
	}
	cfg.Pages = opts.Pages
	for _, s := range opts.InsertLens {
		var v sizeValue
		if err := v.Set(s); err != nil || v <= 0 {
			return cfg, usageErrorf("--insert-len %q: want sizes like 4K,2M", s)
		}
		cfg.InsertLens = append(cfg.InsertLens, int64(v))
	}
	cfg.Sizes = []int64{int64(opts.Size)}
	if len(opts.Sizes) > 0 {
		cfg.Sizes = nil
		for _, s := range opts.Sizes {
			var v sizeValue
			if err := v.Set(s); err != nil || v <= 0 {
				return cfg, usageErrorf("--sizes %q: want sizes like 1G,2G", s)
			}
			cfg.Sizes = append(cfg.Sizes, int64(v))
		}
	}
	if err := opts.workerOptions.check(); err != nil {
		return cfg, err
	}
	if err := opts.refineOptions.check(int(opts.BlockSize)); err != nil {
		return cfg, err
	}
	if err := opts.benchTreeOptions.check(); err != nil {
		return cfg, err
	}
	if opts.Connections < 1 || opts.Connections > opts.Concurrency {
		return cfg, usageErrorf("connections %d: must be from 1 to the concurrency (%d)", opts.Connections, opts.Concurrency)
	}
	if opts.JSON && opts.CSV {
		return cfg, usageErrorf("--json and --csv: give one")
	}
	floor := int64(opts.FloorBytes)
	if floor == 0 {
		floor = min(slices.Max(cfg.Sizes), 1<<30)
	}
	cfg.Net = bench.NetConfig{Bytes: floor, Workers: opts.Concurrency, Connections: opts.Connections}
	if slices.Contains(opts.Tools, "tcp") {
		cfg.Net.Kinds = append(cfg.Net.Kinds, "tcp", "tls", "rec")
	}
	if slices.Contains(opts.Tools, "quic") {
		cfg.Net.Kinds = append(cfg.Net.Kinds, "quic")
	}
	return cfg, nil
}

func runBench(ctx context.Context, opts *benchOptions, roundsSet bool) error {
	cfg, err := benchConfig(opts, roundsSet)
	if err != nil {
		return err
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
	cfg.Dir = work
	if cfg.Tools, err = benchTools(opts, work); err != nil {
		return err
	}
	if cfg.Net.Measure, err = floorsInProcesses(); err != nil {
		return err
	}
	cfg.Log = func(format string, args ...any) {
		if !opts.Quiet {
			fmt.Fprintf(os.Stderr, "bench: "+format+"\n", args...)
		}
	}
	if bench.IsTmpfs(work) {
		cfg.Log("warning: %s is on tmpfs; the numbers say nothing about disks", work)
	}
	tables := !opts.JSON && !opts.CSV
	var text benchText
	if tables {
		text.w = io.MultiWriter(os.Stdout, &text.buf)
		bench.WriteDetailHeader(text.w)
		cfg.Result = func(r bench.Result) { bench.WriteDetailRow(text.w, r) }
	}
	rep, runErr := bench.Run(ctx, cfg)
	if runErr == nil && opts.Tree {
		runErr = runTreeCase(ctx, opts, work, rep, cfg.Log)
	}
	if rep == nil {
		return runErr
	}
	var tls *bench.NetFloor
	if f, ok := rep.NetFloorOf("tls"); ok {
		tls = &f
	}
	rep.Targets = append(bench.Evaluate(rep), bench.TreeTargets(rep.Tree, tls)...)
	rep.ReadPath = opts.readOptions.String()
	// A failure of the run is in the report, saved or printed; with --json
	// the one object on stdout is the report with the error (printed last,
	// so that a failure to save it is in it too).
	setError := func(err error) {
		if err != nil {
			rep.Error, rep.ErrorCode = err.Error(), errorCode(ctx, err)
		}
	}
	setError(runErr)
	var err2 error
	switch {
	case opts.JSON:
	case opts.CSV:
		err2 = bench.WriteCSV(os.Stdout, rep)
	default:
		writeBenchSummary(os.Stdout, rep) // saveResults adds it to the rows kept in text.buf
	}
	if opts.Save != "" {
		err2 = firstErr(err2, writeFile(opts.Save, func(w io.Writer) error { return bench.WriteJSON(w, rep) }))
	}
	if opts.Out != "" {
		err2 = firstErr(err2, saveResults(opts.Out, rep, text.buf.Bytes()))
	}
	err = firstErr(runErr, err2)
	if opts.JSON {
		setError(err)
		if werr := bench.WriteJSON(os.Stdout, rep); err == nil {
			err = werr
		}
		if err != nil {
			err = &resultError{err: err} // the report, with the error, was the one object
		}
	}
	return err
}

func firstErr(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// runHash is the bench's name for the run's tier-2 hash: "" for sha256,
// the default, else -m's (bench.Config.Hash).
func runHash(opts *benchOptions) string {
	if h := engine.StrongHash(opts.Hash); h != engine.SHA256 {
		return h.String()
	}
	return ""
}
