package main

import (
	"context"
	"fmt"
	"os"

	"github.com/pdiffagent/pdiffagent/engine"
	"github.com/spf13/cobra"
)

type retrieveOptions struct {
	compressOptions
	JSON bool
	pipeOptions
}

func newRetrieveCommand(opts *retrieveOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "retrieve [flags] SRC",
		Short: "Pipe mode, step 2: stream the blocks of the source that differ",
		Long: `retrieve reads the output of ` + "`pdiffagent checksum`" + ` on stdin, compares SRC
(a file or block device) with it block by block with parallel workers, and
writes the blocks that differ to stdout, for ` + "`pdiffagent save`" + `. Its
summary (-v, --json) goes to stderr: stdout is the data stream.

` + pipeModeHelp,
		Example: `  pdiffagent checksum disk.img | ssh src pdiffagent retrieve --compress lz4 disk.img | pdiffagent save disk.img`,
		Args:    exactArgs(1, "SRC"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runRetrieve(cmd.Context(), opts, args[0])
		},
	}
	f := cmd.Flags()
	opts.compressOptions.AddFlags(f)
	f.BoolVar(&opts.JSON, "json", false, "print the result as one JSON object on stderr")
	opts.pipeOptions.AddFlags(f)
	return cmd
}

func runRetrieve(ctx context.Context, opts *retrieveOptions, src string) error {
	if err := opts.check(); err != nil {
		return err
	}
	if err := checkPipes("checksum", "save"); err != nil {
		return err
	}
	source, err := engine.OpenSource(engine.LocalOpener{}, src)
	if err != nil {
		return err
	}
	defer source.File.Close()
	var p engine.Params
	opts.workerOptions.apply(&p.Session)
	opts.compressOptions.apply(&p.Session)
	in, out := opts.throttleIO(ctx, os.Stdin, os.Stdout)
	st, err := engine.Retrieve(ctx, source, in, out, p, opts.engineOptions())
	if err != nil {
		err = fmt.Errorf("retrieve %s: %w", src, err)
	} else if !st.DryRun {
		// The sender's part is verified when every block was confirmed
		// against the target's strong hash or sent; save checks the
		// result's digest (a pipe has no way back to tell retrieve).
		st.Verified = st.BlocksConfirmed+st.BlocksChanged == st.BlocksTotal
	}
	switch {
	case err != nil:
		return &resultError{res: &result{Stats: st}, to: os.Stderr, err: err}
	case opts.JSON:
		printJSONTo(os.Stderr, result{Stats: st, Identical: st.Verified})
	case opts.Verbose > 0:
		fmt.Fprintf(os.Stderr, "retrieve %s: %d of %d blocks differ, sent %s of block data in %.2f s; %d confirmed by strong hash, %d weak-hash collisions\n",
			src, st.BlocksChanged, st.BlocksTotal, formatBytes(st.BytesSent), st.Seconds, st.BlocksConfirmed, st.WeakCollisions)
	}
	return err
}
