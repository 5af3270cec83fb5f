package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/pdiffagent/pdiffagent/engine"
	"github.com/pdiffagent/pdiffagent/sysio"
	"github.com/spf13/cobra"
)

// checksumOptions are checksum's flags; the grid and range it picks hold
// for the whole pipeline.
type checksumOptions struct {
	BlockSize  blockSizeValue
	Hash       hashValue
	Start, End sizeValue
	pipeOptions
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
	opts.BlockSize = engine.DefaultBlockSize
	opts.Hash = hashValue(engine.SHA256)
	f.VarP(&opts.BlockSize, "block-size", "b", "block size, a power of two from 4K to 64M (e.g. 128K, 1MiB, 4M)")
	f.VarP(&opts.Hash, "hash", "m", "strong hash of every block: sha256 or sha512_256")
	f.Var(&opts.Start, "start", "sync only from this byte offset (a multiple of the block size)")
	f.Var(&opts.End, "end", "sync only up to this byte offset (a multiple of the block size); default: the end")
	opts.pipeOptions.AddFlags(f)
	return cmd
}

// params checks the flags and turns them into engine parameters.
func (o *checksumOptions) params() (engine.Params, error) {
	if err := o.check(); err != nil {
		return engine.Params{}, err
	}
	bs := sizeValue(o.BlockSize)
	switch {
	case o.Start%bs != 0:
		return engine.Params{}, usageErrorf("--start %d: must be a multiple of the block size %s", o.Start, formatSize(int64(bs)))
	case o.End%bs != 0:
		return engine.Params{}, usageErrorf("--end %d: must be a multiple of the block size %s", o.End, formatSize(int64(bs)))
	case o.End != 0 && o.End <= o.Start:
		return engine.Params{}, usageErrorf("--end %d: must lie after --start %d", o.End, o.Start)
	}
	return engine.Params{BlockSize: int(o.BlockSize), Workers: o.Concurrency, Strong: engine.StrongHash(o.Hash),
		Start: int64(o.Start), End: int64(o.End)}, nil
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
	if err := engine.Checksum(ctx, f, p, os.Stdout, engine.Options{}); err != nil {
		return fmt.Errorf("checksum %s: %w", dst, err)
	}
	return nil
}
