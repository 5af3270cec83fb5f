package main

import (
	"context"
	"errors"
	"os"

	"github.com/pdiffagent/pdiffagent/agent"
	"github.com/pdiffagent/pdiffagent/engine"
	"github.com/pdiffagent/pdiffagent/engine/tree"
)

// isDir reports whether path is a directory (following a symlink, as the
// user named it).
func isDir(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.IsDir()
}

// runPushTree pushes the local directory local to the server's directory
// (tree.Resolve's rule, as sync: "dir/" is its contents, "dir" the
// directory itself, into PATH/dir) in one tree session
// (agent.PushTree). A rerun converges: retries are not needed.
func runPushTree(ctx context.Context, opts *remoteOptions, p engine.Params, cfg agent.ClientConfig, local, remote string) error {
	prog, topt, err := opts.remoteTree(p, &cfg)
	if err != nil {
		return err
	}
	return opts.runTree(ctx, "push tree", local, remote, p, prog, func() (tree.Stats, error) {
		return agent.PushTree(ctx, cfg, local, remote, topt)
	})
}

// runPullTree pulls the server's directory to the local directory local
// (tree.Resolve's rule: "PATH/" is its contents, "PATH" the directory
// itself, into local/PATH) in one tree session (agent.PullTree).
func runPullTree(ctx context.Context, opts *remoteOptions, p engine.Params, cfg agent.ClientConfig, remote, local string) error {
	prog, topt, err := opts.remoteTree(p, &cfg)
	if err != nil {
		return err
	}
	_, rpath, err := agent.ParseRemote(remote)
	if err != nil {
		return usageErrorf("%v", err)
	}
	if err := mkdirForPull(rpath, local, opts.DryRun); err != nil {
		return err
	}
	return opts.runTree(ctx, "pull tree", remote, local, p, prog, func() (tree.Stats, error) {
		return agent.PullTree(ctx, cfg, remote, local, topt)
	})
}

// remoteTree checks a push's or pull's tree flags and makes its options
// (the agent paces the streams: --bwlimit goes to cfg).
func (opts *remoteOptions) remoteTree(p engine.Params, cfg *agent.ClientConfig) (*tree.Progress, tree.Options, error) {
	if err := opts.checkTree(); err != nil {
		return nil, tree.Options{}, err
	}
	prog := new(tree.Progress)
	topt, err := opts.treeSyncOptions(p, prog)
	if err != nil {
		return nil, tree.Options{}, err
	}
	cfg.Link, topt.Engine.Link = topt.Engine.Link, nil
	if topt.Engine.Cache, err = opts.cacheOptions.open(opts.identityOptions.dir()); err != nil {
		return nil, tree.Options{}, err
	}
	return prog, topt, nil
}

// mkdirForPull makes local when a pull of rpath puts the remote directory
// itself inside it (no trailing slash: tree.Resolve).
func mkdirForPull(rpath, local string, dryRun bool) error {
	if _, _, prefix := tree.Resolve(rpath, local); prefix != "" && !dryRun {
		if err := os.Mkdir(local, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
			return err
		}
	}
	return nil
}
