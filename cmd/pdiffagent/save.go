package main

import (
	"context"
	"fmt"
	"os"

	"github.com/pdiffagent/pdiffagent/agent"
	"github.com/pdiffagent/pdiffagent/engine"
	"github.com/spf13/cobra"
)

type saveOptions struct {
	JSON bool
	metaOptions
	pipeOptions
	cacheOptions
}

func newSaveCommand(opts *saveOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "save [flags] DST",
		Short: "Pipe mode, step 3: write the changed blocks and verify the result",
		Long: `save reads the output of ` + "`pdiffagent retrieve`" + ` on stdin and writes its blocks
into DST (created if missing), then re-reads the range and checks its digest
against the source's, and fsyncs. Exit status 0 means DST now equals the
source over the range; anything else, that it may be partly updated.

` + pipeModeHelp,
		Example: `  pdiffagent checksum disk.img | ssh src pdiffagent retrieve disk.img | pdiffagent save -v disk.img`,
		Args:    exactArgs(1, "DST"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runSave(cmd.Context(), opts, args[0])
		},
	}
	f := cmd.Flags()
	f.BoolVar(&opts.JSON, "json", false, "print the result as one JSON object on stdout")
	opts.metaOptions.AddFlags(f)
	opts.pipeOptions.AddFlags(f)
	opts.cacheOptions.AddFlags(f)
	return cmd
}

func runSave(ctx context.Context, opts *saveOptions, dst string) error {
	if err := opts.check(); err != nil {
		return err
	}
	if err := checkPipes("retrieve", ""); err != nil {
		return err
	}
	t, err := engine.OpenTarget(ctx, engine.LocalOpener{}, dst, false, false)
	if err != nil {
		return err
	}
	if err := t.Create(); err != nil {
		return err
	}
	var p engine.Params
	opts.workerOptions.apply(&p.Session)
	opts.metaOptions.apply(&p.Session)
	store, err := opts.cacheOptions.open(agent.DefaultIdentityDir()) // to invalidate DST's record before writing it
	if err != nil {
		return err
	}
	eopt := opts.engineOptions()
	eopt.Cache = store
	in, _ := opts.throttleIO(ctx, os.Stdin, nil)
	st, err := engine.Save(ctx, t.File, in, p, eopt)
	// A target created for nothing that arrived is removed.
	if cerr := t.Close(err, st); err == nil && cerr != nil {
		err = cerr
	}
	if err != nil {
		err = fmt.Errorf("save %s: %w", dst, err)
	}
	res := result{Stats: st, Identical: err == nil && st.Verified}
	switch {
	case err != nil:
		return &resultError{res: &res, err: err}
	case opts.JSON:
		printJSONTo(os.Stdout, res)
	case !opts.Quiet:
		fmt.Println(summary(res))
		if opts.Verbose > 0 {
			fmt.Fprintf(os.Stderr, "received %s of block data; %d blocks confirmed by strong hash; %d weak-hash collisions\n",
				formatBytes(st.BytesSent), st.BlocksConfirmed, st.WeakCollisions)
		}
	}
	return err
}
