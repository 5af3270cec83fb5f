package main

import (
	"context"
	"strings"

	"github.com/pdiffagent/pdiffagent/agent"
	"github.com/pdiffagent/pdiffagent/engine"
	"github.com/pdiffagent/pdiffagent/engine/tree"
)

// isTree reports whether a push or pull moves a tree: a push of a local
// directory, a pull into one or of a remote path ending with a slash.
func isTree(push bool, local, rpath string) bool {
	if push {
		return isDir(local)
	}
	return isDir(local) || strings.HasSuffix(rpath, "/")
}

// runRemoteSSHTree is runRemoteSSH for a tree: one session over the ssh
// pipes (--ssh-connections) to `pdiffagent serve --stdio`, as PushTree or
// PullTree. The remote path is taken as written (no default name: the
// trailing-slash rule decides, as for TCP).
func runRemoteSSHTree(ctx context.Context, opts *remoteOptions, p engine.Params, push bool, local, dest, rpath string) error {
	if err := opts.check(p, push, local); err != nil {
		return err
	}
	cfg := opts.sshClientConfig()
	prog, topt, err := opts.remoteTree(p, &cfg)
	if err != nil {
		return err
	}
	what := "pull tree"
	if push {
		what = "push tree"
	} else if err := mkdirForPull(rpath, local, opts.DryRun); err != nil {
		return err
	}
	return opts.runTree(ctx, what, local, dest+":"+rpath, p, prog, func() (tree.Stats, error) {
		tuns, path, err := opts.startTunnels(ctx, dest, rpath, "")
		if err != nil {
			return tree.Stats{}, err
		}
		c := cfg
		c.Tunnel = tuns[0]
		for _, t := range tuns[1:] {
			c.Tunnels = append(c.Tunnels, t)
		}
		var st tree.Stats
		if push {
			st, err = agent.PushTree(ctx, c, local, path, topt)
		} else {
			st, err = agent.PullTree(ctx, c, path, local, topt)
		}
		if cerr := closeTunnels(tuns); err == nil && cerr != nil && ctx.Err() == nil {
			err = cerr
		}
		return st, err
	})
}
