package main

import (
	"context"
	"fmt"
	"os"

	"github.com/pdiffagent/pdiffagent/agent"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// identityOptions select the identity directory.
type identityOptions struct {
	Dir string
}

// AddFlags registers --identity.
func (o *identityOptions) AddFlags(f *pflag.FlagSet) {
	f.StringVar(&o.Dir, "identity", "", "identity directory (default $PDIFFAGENT_HOME or ~/.config/pdiffagent)")
}

func (o *identityOptions) dir() string {
	if o.Dir != "" {
		return o.Dir
	}
	return agent.DefaultIdentityDir()
}

// load returns the identity, creating it on first use.
func (o *identityOptions) load() (*agent.Identity, error) {
	return agent.LoadOrCreateIdentity(o.dir())
}

func newIDCommand(opts *identityOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "id [flags]",
		Short: "Print this agent's fingerprint, creating its identity on first use",
		Long: `id prints this agent's certificate fingerprint as sha256:<64 hex>. Give it to
the peers that must trust this agent: a server lists its clients with
--allow, a client pins its server with --pin.`,
		Args: exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runID(cmd.Context(), opts)
		},
	}
	opts.AddFlags(cmd.Flags())
	return cmd
}

func runID(_ context.Context, opts *identityOptions) error {
	id, err := opts.load()
	if err != nil {
		return err
	}
	fmt.Fprintln(os.Stdout, id.Fingerprint())
	return nil
}
