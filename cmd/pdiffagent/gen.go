package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/pdiffagent/pdiffagent/bench"
	"github.com/pdiffagent/pdiffagent/engine"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// newGenCommand is a hidden helper that makes demo and benchmark data; the
// logic is in package bench.
func newGenCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:    "gen",
		Short:  "Make test data (random files, mutated copies)",
		Hidden: true,
		Args:   cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return unknownCommand(cmd, args[0])
			}
			return usageErrorf("gen wants a subcommand: random, mutate or copy")
		},
	}
	cmd.AddCommand(newGenRandomCommand(), newGenMutateCommand(), newGenCopyCommand())
	return cmd
}

type genRandomOptions struct {
	Size sizeValue
	Seed int64
}

func (o *genRandomOptions) AddFlags(f *pflag.FlagSet) {
	o.Size = 1 << 30
	f.Var(&o.Size, "size", "bytes to write (e.g. 1G, 256M)")
	f.Int64Var(&o.Seed, "seed", 1, "the same seed gives the same data")
}

func newGenRandomCommand() *cobra.Command {
	var opts genRandomOptions
	cmd := &cobra.Command{
		Use:   "random FILE",
		Short: "Write incompressible pseudo-random data determined by a seed",
		Args:  exactArgs(1, "FILE"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return bench.GenerateRandom(args[0], int64(opts.Size), opts.Seed)
		},
	}
	opts.AddFlags(cmd.Flags())
	return cmd
}

type genMutateOptions struct {
	Pages     int64
	Fraction  float64
	BlockSize blockSizeValue
	Seed      int64
	Pattern   string
}

func (o *genMutateOptions) AddFlags(f *pflag.FlagSet) {
	o.BlockSize = engine.DefaultBlockSize
	f.Float64Var(&o.Fraction, "fraction", 0.1, "fraction of the blocks to change, 0 to 1 (random, prefix)")
	f.VarP(&o.BlockSize, "block-size", "b", "block size")
	f.Int64Var(&o.Seed, "seed", 2, "the same seed gives the same changes")
	f.StringVar(&o.Pattern, "pattern", "random", "random (a few bytes of blocks anywhere), blocks (blocks anywhere wholly replaced), prefix (the first blocks), pages (--pages random 8 KiB pages rewritten) or insert (4 KiB near the start, shifting the rest)")
	f.Int64Var(&o.Pages, "pages", 100, "pages to rewrite (pattern pages)")
}

func newGenMutateCommand() *cobra.Command {
	var opts genMutateOptions
	cmd := &cobra.Command{
		Use:   "mutate FILE",
		Short: "Change a fraction of a file's blocks in place and print how many changed",
		Args:  exactArgs(1, "FILE"),
		RunE: func(cmd *cobra.Command, args []string) error {
			pat, err := bench.ParsePattern(opts.Pattern)
			if err != nil {
				return &usageError{err}
			}
			if opts.Fraction < 0 || opts.Fraction > 1 {
				return usageErrorf("fraction %v: must be from 0 to 1", opts.Fraction)
			}
			var n int64
			if pat == bench.Pages {
				n, err = bench.MutatePages(args[0], int(opts.BlockSize), opts.Pages, opts.Seed)
			} else {
				n, err = bench.Mutate(args[0], int(opts.BlockSize), opts.Fraction, pat, opts.Seed)
			}
			if err != nil {
				return err
			}
			size, _, err := fileSize(args[0])
			if err != nil {
				return err
			}
			bs := int64(opts.BlockSize)
			fmt.Fprintf(cmd.OutOrStdout(), "changed %d of %d blocks of %s (%s)\n", n, (size+bs-1)/bs, formatSize(bs), pat)
			return nil
		},
	}
	opts.AddFlags(cmd.Flags())
	return cmd
}

func newGenCopyCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "copy SRC DST",
		Short: "Copy a file in large parallel chunks",
		Args:  exactArgs(2, "SRC and DST"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkLocalKind(args[0]); err != nil {
				return err
			}
			if err := checkLocalKind(args[1]); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return err
			}
			si, _ := os.Stat(args[0])
			if di, err := os.Stat(args[1]); err == nil && os.SameFile(si, di) {
				return fmt.Errorf("%s and %s are the same file", args[0], args[1])
			}
			return bench.CopyFile(args[0], args[1])
		},
	}
}
