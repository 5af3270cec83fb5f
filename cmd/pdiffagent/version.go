package main

import (
	"encoding/json"
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
	"strings"

	"github.com/pdiffagent/pdiffagent/wire"
	"github.com/spf13/cobra"
)

// versionInfo is what `pdiffagent version` prints: the module's version and
// the commit it was built from (both from the build info the go command
// embeds), and the wire protocol version peers must share.
type versionInfo struct {
	Version  string `json:"version"`            // module version, "(devel)" for a build from a clone
	Commit   string `json:"commit,omitempty"`   // vcs.revision
	Modified bool   `json:"modified,omitempty"` // vcs.modified: built from a tree with uncommitted changes
	Time     string `json:"commit_time,omitempty"`
	Protocol uint16 `json:"protocol"`
	Go       string `json:"go"`
}

// buildCommit is the commit `make build` passes with -ldflags -X, for builds
// the go command could not stamp (a git worktree, -buildvcs=false).
var buildCommit string

// buildVersion reads the build info once per call (it is cheap).
func buildVersion() versionInfo {
	v := versionInfo{Version: "(devel)", Protocol: wire.ProtocolVersion, Go: runtime.Version()}
	v.Commit, v.Modified = strings.CutSuffix(buildCommit, "+modified")
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return v
	}
	if bi.Main.Version != "" {
		v.Version = bi.Main.Version
	}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			v.Commit = s.Value
		case "vcs.modified":
			v.Modified = s.Value == "true"
		case "vcs.time":
			v.Time = s.Value
		}
	}
	return v
}

// String is the one line --version prints.
func (v versionInfo) String() string {
	s := "pdiffagent " + v.Version
	if v.Commit != "" {
		c := v.Commit
		if len(c) > 12 {
			c = c[:12]
		}
		s += " commit " + c
		if v.Modified {
			s += "+modified"
		}
	}
	return fmt.Sprintf("%s protocol %d %s", s, v.Protocol, v.Go)
}

func newVersionCommand() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print the version, commit and protocol version",
		Long: `version prints the module version, the commit the binary was built from
(with +modified when the tree had uncommitted changes) and the wire protocol
version. Two agents work together only when their protocol versions are equal.`,
		Args: exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return printVersion(cmd.OutOrStdout(), asJSON)
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the version as one JSON object")
	return cmd
}

func printVersion(w io.Writer, asJSON bool) error {
	v := buildVersion()
	if !asJSON {
		_, err := fmt.Fprintln(w, v)
		return err
	}
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "%s\n", b)
	return err
}
