package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/pdiffagent/pdiffagent/agent"
	"github.com/pdiffagent/pdiffagent/engine"
	"github.com/pdiffagent/pdiffagent/sysio"
	"github.com/spf13/cobra"
)

// checksumOptions are checksum's flags; the grid and range it picks hold
// for the whole pipeline.
type checksumOptions struct {
	gridOptions
	rangeOptions
	pipeOptions
	cacheOptions
	NoCache bool
}

func newChecksumCommand(opts *checksumOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "checksum [flags] DST",
		Short: "Pipe mode, step 1: stream the block hashes of the old copy",
		Long: `checksum reads DST (a file or block device; missing counts as empty) with
parallel workers and writes, for every block of the range, its xxhash64 and
its strong hash to stdout, for ` + "`pdiffagent retrieve`" + `.

` + pipeModeHelp,
		Example: `  pdiffagent checksum /dev/vg0/vm | ssh src pdiffagent retrieve /dev/vg0/vm | pdiffagent save /dev/vg0/vm
  pdiffagent checksum -b 128K --start 1G --end 2G disk.img | ...`,
		Args: exactArgs(1, "DST"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runChecksum(cmd.Context(), opts, args[0])
		},
	}
	f := cmd.Flags()
	opts.gridOptions.AddFlags(f)
	opts.rangeOptions.AddFlags(f)
	opts.pipeOptions.AddFlags(f)
	opts.cacheOptions.AddFlags(f)
	f.BoolVar(&opts.NoCache, "no-cache", false, "read and hash DST even if its block-hash record is valid (a fresh record is still kept)")
	return cmd
}

// params checks the flags and turns them into engine parameters.
func (o *checksumOptions) params() (engine.Params, error) {
	if err := o.pipeOptions.check(); err != nil {
		return engine.Params{}, err
	}
	if err := o.rangeOptions.check(int64(o.BlockSize), true); err != nil {
		return engine.Params{}, err
	}
	s := engine.Session{NoCache: o.NoCache}
	o.gridOptions.apply(&s)
	o.workerOptions.apply(&s)
	return engine.Params{Session: s, File: o.rangeOptions.file()}, nil
}

func runChecksum(ctx context.Context, opts *checksumOptions, dst string) error {
	p, err := opts.params()
	if err != nil {
		return err
	}
	if err := checkPipes("", "retrieve"); err != nil {
		return err
	}
	f, err := sysio.Open(dst, sysio.ReadOnly, sysio.Options{})
	switch {
	case errors.Is(err, fs.ErrNotExist):
		f = nil // an empty target: every block will come
	case err != nil:
		return err
	default:
		defer f.Close()
	}
	if opts.Verbose > 0 {
		what := "missing: every block will be sent"
		if f != nil {
			size, _ := f.Size()
			what = formatBytes(size)
		}
		fmt.Fprintf(os.Stderr, "checksum %s (%s): blocks of %s, %d workers, %s\n", dst, what, formatSize(int64(p.BlockSize)), p.Workers, p.Strong)
	}
	store, err := opts.cacheOptions.open(agent.DefaultIdentityDir())
	if err != nil {
		return err
	}
	eopt := opts.engineOptions()
	eopt.Cache = store
	_, out := opts.throttleIO(ctx, nil, os.Stdout)
	if err := engine.Checksum(ctx, f, p, out, eopt); err != nil {
		return fmt.Errorf("checksum %s: %w", dst, err)
	}
	return nil
}
