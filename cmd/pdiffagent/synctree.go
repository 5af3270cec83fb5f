package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/pdiffagent/pdiffagent/agent"
	"github.com/pdiffagent/pdiffagent/engine"
	"github.com/pdiffagent/pdiffagent/engine/tree"
	"github.com/pdiffagent/pdiffagent/engine/tree/filter"
	"github.com/spf13/pflag"
)

// treeOptions are the flags that matter only when the source is a
// directory.
type treeOptions struct {
	Delete, DeleteExcluded bool
	ChecksumAll            bool
	HardLinks              bool
	AllowDevices           bool
	// Rules are --exclude and --include in the order given: the first
	// that matches a path decides (engine/tree/filter).
	Rules []filter.Rule
}

// ruleFlag appends one kind of rule to the shared, ordered list.
type ruleFlag struct {
	rules   *[]filter.Rule
	include bool
}

func (f ruleFlag) String() string { return "" }
func (f ruleFlag) Type() string   { return "pattern" }
func (f ruleFlag) Set(s string) error {
	*f.rules = append(*f.rules, filter.Rule{Include: f.include, Pattern: s})
	return nil
}

// AddFlags registers the tree flags.
func (o *treeOptions) AddFlags(f *pflag.FlagSet) {
	f.BoolVar(&o.Delete, "delete", false, "directories: remove target entries the source lacks (never outside the target; with -n, list them)")
	f.BoolVar(&o.DeleteExcluded, "delete-excluded", false, "directories: with --delete, also remove excluded target entries")
	f.BoolVar(&o.ChecksumAll, "checksum-all", false, "directories: compare every file, even those whose size and mtime match (by default those are skipped after a stat)")
	f.BoolVarP(&o.HardLinks, "hard-links", "H", false, "directories: preserve hard links between files of the tree")
	f.Var(ruleFlag{&o.Rules, false}, "exclude", "directories: leave out paths matching this rsync pattern (*, **, ?, [..]; a trailing / for directories, a leading / anchors at the tree's root); repeatable, the first matching --exclude/--include decides")
	f.Var(ruleFlag{&o.Rules, true}, "include", "directories: keep paths matching this pattern even if a later --exclude matches; repeatable")
	f.BoolVar(&o.AllowDevices, "allow-devices", false, "directories: create device nodes (as root); without it they are skipped with a warning")
}

// check refuses what a tree sync cannot do.
func (o *syncOptions) checkTree() error {
	switch {
	case o.Start != 0 || o.End != 0:
		return usageErrorf("--start/--end: only for a single file, not a directory")
	case o.DeleteExcluded && !o.Delete:
		return usageErrorf("--delete-excluded needs --delete")
	}
	return nil
}

// treeResult is what a tree sync prints with --json.
type treeResult struct {
	tree.Stats
	// Identical: the target tree equals the source's (after the sync, or
	// already in a dry run that found nothing to change).
	Identical bool   `json:"identical"`
	Error     string `json:"error,omitempty"`
	ErrorCode string `json:"error_code,omitempty"`
}

// runSyncTree syncs the directory src to dst (tree.Resolve's rule: "src/"
// is its contents, "src" the directory itself, into dst/src).
func runSyncTree(ctx context.Context, opts *syncOptions, src, dst string) error {
	p, err := opts.params()
	if err != nil {
		return err
	}
	if err := opts.checkTree(); err != nil {
		return err
	}
	prog := new(tree.Progress)
	topt, err := opts.treeSyncOptions(p, prog)
	if err != nil {
		return err
	}
	if topt.Engine.Cache, err = opts.cacheOptions.open(agent.DefaultIdentityDir()); err != nil {
		return err
	}
	topt.Engine.CompareLocal = true // where no cache needs the hashes (engine/compare.go)
	srcDir, dstDir, prefix := tree.Resolve(src, dst)
	if prefix != "" && !opts.DryRun {
		if err := os.Mkdir(dst, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
			return err
		}
	}
	return opts.runTree(ctx, "sync tree", srcDir, dstDir, p, prog, func() (tree.Stats, error) {
		return tree.Sync(ctx, srcDir, dstDir, prefix, topt)
	})
}

// runTree runs a tree sync or push with its progress line and reports it.
func (opts *syncOptions) runTree(ctx context.Context, what, src, dst string, p engine.Params, prog *tree.Progress, run func() (tree.Stats, error)) error {
	if opts.Verbose > 0 {
		fmt.Fprintf(os.Stderr, "%s %s -> %s: %d workers, blocks of %s, %s\n",
			what, src, dst, p.Workers, formatSize(int64(p.BlockSize)), p.Strong)
	}
	start := time.Now()
	stop := opts.startProgressText(&prog.Engine, 0, func() string { return treeProgressLine(prog, start) })
	// --retries: a tree that failed as a whole for a reason worth
	// retrying (the network, a busy server) runs again; what the last run
	// completed, the next skips after a stat. A partial tree (some paths
	// failed, the rest synced) is reported, not retried.
	var st tree.Stats
	err := opts.retryOptions.do(ctx, os.Stderr, prog.Reset, func() (err error) {
		st, err = run()
		return err
	})
	stop()
	return reportTree(ctx, opts, treeResult{Stats: st}, err)
}

// treeSyncOptions are the tree.Options of the command's flags.
func (opts *syncOptions) treeSyncOptions(p engine.Params, prog *tree.Progress) (tree.Options, error) {
	flt, err := filter.New(opts.Rules)
	if err != nil {
		return tree.Options{}, usageErrorf("%v", err)
	}
	topt := tree.Options{
		Session: p.Session, Delete: opts.Delete, DeleteExcluded: opts.DeleteExcluded,
		ChecksumAll: opts.ChecksumAll, HardLinks: opts.HardLinks, AllowDevices: opts.AllowDevices,
		Atomic: opts.Atomic, Progress: prog, Filter: flt,
		Warn: func(line string) { fmt.Fprintln(os.Stderr, "warning: "+line) },
	}
	if opts.DryRun && !opts.Quiet && !opts.JSON {
		topt.Deleted = func(rel string) { fmt.Fprintln(os.Stdout, "would delete "+rel) }
	} else if opts.Verbose > 0 {
		topt.Deleted = func(rel string) { fmt.Fprintln(os.Stderr, "deleted "+rel) }
	}
	opts.readOptions.apply(&topt.Engine)
	opts.limitOptions.apply(&topt.Engine, p.BlockSize)
	return topt, nil
}

// reportTree prints a tree sync's outcome and returns what decides the
// exit status: 0 when the target equals the source, 3 after a dry run
// that found differences, 1 when a path failed.
func reportTree(ctx context.Context, opts *syncOptions, res treeResult, err error) error {
	res.Identical = err == nil &&
		(!res.DryRun || res.FilesChanged == 0 && res.Deleted == 0)
	if err != nil {
		res.Error, res.ErrorCode = err.Error(), errorCode(ctx, err)
	}
	if res.Failed == nil {
		res.Failed = []tree.Failure{} // a list, empty: not null
	}
	switch {
	case opts.JSON:
		printJSONTo(os.Stdout, res)
	case !opts.Quiet || err != nil:
		fmt.Fprintln(os.Stdout, treeSummary(res))
	}
	switch {
	case err != nil:
		if errors.Is(err, tree.ErrPartial) && len(res.Failed) > 0 {
			err = fmt.Errorf("%w, first %s: %s; the rest of the tree is synced (run again to retry them)", err, res.Failed[0].Path, res.Failed[0].Error)
		}
		return &resultError{err: err} // the object is printed
	case !res.Identical:
		return errDiffers
	}
	return nil
}

// treeSummary is the one-line human account of a tree sync.
func treeSummary(r treeResult) string {
	what := "synced tree"
	if r.DryRun {
		what = "dry run"
	}
	s := fmt.Sprintf("%s: %d files (%d changed, %d verified equal, %d skipped: same size and mtime), %d dirs, %d symlinks",
		what, r.Files, r.FilesChanged, r.FilesVerified, r.FilesSkipped, r.Dirs, r.Symlinks)
	var extra []string
	for _, x := range []struct {
		n    int64
		what string
	}{{r.HardLinks, "hard links"}, {r.Devices, "devices"}, {r.Deleted, "deleted"}, {r.Excluded, "excluded"},
		{r.Specials, "special files skipped"}, {r.FailedCount, "FAILED"}} {
		if x.n > 0 {
			extra = append(extra, fmt.Sprintf("%d %s", x.n, x.what))
		}
	}
	if len(extra) > 0 {
		s += ", " + strings.Join(extra, ", ")
	}
	return s + fmt.Sprintf("; %s of %s written, %s on the wire, in %.2f s",
		formatBytes(r.BytesWritten), formatBytes(r.BytesTotal), formatBytes(r.BytesWire), r.Seconds)
}

// treeProgressLine is the progress line of a tree sync: files and bytes
// done of those found so far (the listing streams, so the totals grow),
// rate, ETA and the large files in flight.
func treeProgressLine(p *tree.Progress, start time.Time) string {
	files, done := p.Files.Load(), p.FilesDone.Load()
	total, bytes := p.Bytes.Load(), p.Done()
	elapsed := time.Since(start).Seconds()
	rate := 0.0
	if elapsed > 0 {
		rate = float64(bytes) / elapsed
	}
	eta := "--:--"
	if rate > 0 && total >= bytes {
		eta = formatClock(float64(total-bytes) / rate)
	}
	line := fmt.Sprintf("%d/%d files, %s / %s, %s written, %s/s, ETA %s", done, files,
		formatBytes(bytes), formatBytes(total), formatBytes(p.Engine.Written.Load()), formatBytes(int64(rate)), eta)
	if cur := p.Current(2); len(cur) > 0 {
		line += ", now " + strings.Join(cur, " ")
	}
	return line
}
