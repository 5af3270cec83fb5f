package main

import (
	"context"
	"fmt"
	"os"

	"github.com/pdiffagent/pdiffagent/agent"
	"github.com/pdiffagent/pdiffagent/engine"
	"github.com/pdiffagent/pdiffagent/sysio"
	"github.com/spf13/cobra"
)

// verifyOptions are the flags of verify.
type verifyOptions struct {
	cacheOptions
	JSON bool
}

func newVerifyCommand(opts *verifyOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "verify [flags] FILE",
		Short: "Re-read a file and compare it with its block-hash record (scrub)",
		Long: `verify re-reads FILE whole and compares every block with the record of its
block hashes that its last verified sync left in the cache directory. A
block that no longer matches was changed behind pdiffagent's back or has
rotted. Exit status 0: every block matches; 1: some differ (listed with
--json as "bad_blocks"), or FILE has no record.`,
		Example: `  pdiffagent verify /srv/images/vm.img
  pdiffagent verify --json --cache-dir /var/cache/pdiffagent /dev/vg0/lv0`,
		Args: exactArgs(1, "FILE"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runVerify(cmd.Context(), opts, args[0])
		},
	}
	f := cmd.Flags()
	opts.cacheOptions.AddFlags(f)
	f.BoolVar(&opts.JSON, "json", false, "print the result as one JSON object on stdout")
	return cmd
}

func runVerify(ctx context.Context, opts *verifyOptions, path string) error {
	f, err := sysio.Open(path, sysio.ReadOnly, sysio.Options{})
	if err != nil {
		return err
	}
	defer f.Close()
	store, err := opts.cacheOptions.open(agent.DefaultIdentityDir())
	if err != nil {
		return err
	}
	if store == nil {
		return fmt.Errorf("%s: %w (no cache directory)", path, engine.ErrNoRecord)
	}
	res, err := engine.Scrub(ctx, f, store, engine.Options{})
	if err != nil {
		return err
	}
	var differ error
	if res.Differ > 0 {
		differ = fmt.Errorf("%w: %s: %d blocks differ from the record", engine.ErrVerify, path, res.Differ)
	}
	if opts.JSON {
		out := struct {
			File string `json:"file"`
			engine.ScrubResult
			Error     string `json:"error,omitempty"`
			ErrorCode string `json:"error_code,omitempty"`
		}{File: path, ScrubResult: res}
		if differ != nil {
			out.Error, out.ErrorCode = differ.Error(), errorCode(ctx, differ)
			differ = &resultError{err: differ} // the object is printed
		}
		printJSONTo(os.Stdout, out)
		return differ
	}
	fmt.Printf("%s: %d of %d blocks of %s differ from the record%s\n", path, res.Differ, res.Blocks,
		formatSize(int64(res.BlockSize)), map[bool]string{true: "", false: " (the file was changed since it was recorded)"}[res.Current])
	if res.WeakOnly > 0 {
		fmt.Printf("%s: %d blocks were recorded without a tier-2 hash (by an earlier build) and compared by their tier-1 hash only\n", path, res.WeakOnly)
	}
	return differ
}
