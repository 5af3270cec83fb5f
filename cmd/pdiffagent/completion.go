package main

import (
	"strings"

	"github.com/pdiffagent/pdiffagent/agent"
	"github.com/pdiffagent/pdiffagent/engine"
	"github.com/spf13/cobra"
)

// flagValues are the values shell completion offers for the flags that
// take one of a few words, on every command that has them.
func flagValues() map[string][]string {
	return map[string][]string{
		"transport":  {agent.TransportTCP, agent.TransportQUIC},
		"compress":   {"none", "lz4"},
		"progress":   progressModes,
		"hash":       strongHashNames(),
		"log-format": {"text", "json"},
	}
}

// strongHashNames are the -m values engine knows, in their wire order.
func strongHashNames() []string {
	var names []string
	for h := engine.StrongHash(1); h != 0; h++ {
		if n := h.String(); !strings.HasPrefix(n, "hash(") {
			names = append(names, n)
		}
	}
	return names
}

// registerCompletions registers the value completion of flagValues on cmd
// and every command beneath it.
func registerCompletions(cmd *cobra.Command) {
	for name, values := range flagValues() {
		if cmd.Flags().Lookup(name) == nil {
			continue
		}
		values := values
		cmd.RegisterFlagCompletionFunc(name, func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
			return values, cobra.ShellCompDirectiveNoFileComp
		})
	}
	for _, c := range cmd.Commands() {
		registerCompletions(c)
	}
}
