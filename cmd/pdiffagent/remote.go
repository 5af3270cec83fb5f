package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/pdiffagent/pdiffagent/agent"
	"github.com/pdiffagent/pdiffagent/engine"
	"github.com/spf13/cobra"
)

// remoteOptions are push's and pull's flags: the sync flags and how to
// reach and trust the server.
type remoteOptions struct {
	syncOptions
	identityOptions
	sshOptions
	Pin         string
	ReplacePin  bool
	Transport   transportValue
	Connections int
	IdleTimeout time.Duration
}

func (o *remoteOptions) addFlags(cmd *cobra.Command) {
	f := cmd.Flags()
	o.syncOptions.AddFlags(f)
	o.identityOptions.AddFlags(f)
	o.sshOptions.AddFlags(f)
	f.StringVar(&o.Pin, "pin", "", "the server's fingerprint `sha256:HEX` (what pdiffagent id prints on the server); remembered for the host")
	f.BoolVar(&o.ReplacePin, "replace-pin", false, "let --pin replace a different pin remembered for the host (after the server's identity changed on purpose)")
	o.Transport = agent.TransportTCP
	f.Var(&o.Transport, "transport", "tcp (TLS 1.3, one connection per worker) or quic")
	f.IntVar(&o.Connections, "connections", 1, "QUIC connections to spread the workers over (TCP always uses one per worker)")
	o.addTimeoutFlags(f)
}

func newPushCommand(opts *remoteOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "push [flags] LOCAL HOST:PORT[/PATH] | [USER@]HOST:PATH",
		Short: "Bring a file on a server up to date with a local one",
		Long: `push makes the server's file PATH (relative to its --root; default: LOCAL's
base name) identical to LOCAL by a delta transfer. The server must allow this
agent's fingerprint; this agent pins the server's (--pin, remembered per host
in the identity directory's known_hosts).

Exit status: 0 when the target is identical to the source; 3 when a dry run
found differences; 1 on error; 2 on a usage error; 75 on a failure worth
retrying (network lost, server busy, source changed); 130 when interrupted.

A remote written [USER@]HOST:PATH (a colon not followed by a port) is
reached through ssh instead: pdiffagent serve --stdio runs on the far side
(-e/--rsh, --remote-path) and the session runs over ssh's pipe, without
pins; an absolute PATH is taken beneath the far side's root (/), a
relative one beneath the login directory.

A directory LOCAL is pushed as a tree in one session, with sync's rules and
flags (-H, --delete, --exclude, --include; "DIR/" is its contents, "DIR" the
directory itself, into PATH/DIR).`,
		Example: `  pdiffagent push --pin sha256:3f1c… vm.img backup1:9443/vms/vm.img
  pdiffagent push -H --delete /var/lib/pgsql/data/ backup1:9443/pgdata
  pdiffagent push --transport quic --connections 4 db.ibd [fd00::2]:9443`,
		Args: exactArgs(2, "LOCAL and HOST:PORT[/PATH]"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runRemote(cmd.Context(), opts, true, args[0], args[1])
		},
	}
	opts.addFlags(cmd)
	opts.treeOptions.AddFlags(cmd.Flags())
	return cmd
}

func newPullCommand(opts *remoteOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "pull [flags] HOST:PORT/PATH | [USER@]HOST:PATH LOCAL",
		Short: "Bring a local file up to date with one on a server",
		Long: `pull makes LOCAL identical to the server's file PATH (relative to its --root)
by a delta transfer. A missing LOCAL is created.

Exit status: 0 when the target is identical to the source; 3 when a dry run
found differences; 1 on error; 2 on a usage error; 75 on a failure worth
retrying (network lost, server busy, source changed); 130 when interrupted.

A remote written [USER@]HOST:PATH (a colon not followed by a port) is
reached through ssh instead: pdiffagent serve --stdio runs on the far side
(-e/--rsh, --remote-path) and the session runs over ssh's pipe, without
pins; an absolute PATH is taken beneath the far side's root (/), a
relative one beneath the login directory.

A directory is pulled as a tree in one session, with sync's rules and flags,
when LOCAL is a directory or PATH ends with a slash ("PATH/" is its contents,
into LOCAL; "PATH" the directory itself, into LOCAL/PATH).`,
		Example: `  pdiffagent pull --pin sha256:3f1c… primary:9443/db/main.ibd /var/lib/db/main.ibd`,
		Args:    exactArgs(2, "HOST:PORT/PATH and LOCAL"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runRemote(cmd.Context(), opts, false, args[1], args[0])
		},
	}
	opts.addFlags(cmd)
	opts.treeOptions.AddFlags(cmd.Flags())
	return cmd
}

// runRemote runs a push (local -> remote) or a pull (remote -> local).
func runRemote(ctx context.Context, opts *remoteOptions, push bool, local, remote string) error {
	p, err := opts.params()
	if err != nil {
		return err
	}
	dest, spath, viaSSH := parseSSHRemote(remote)
	if viaSSH {
		return runRemoteSSH(ctx, opts, p, push, local, dest, spath)
	}
	hostport, rpath, err := agent.ParseRemote(remote)
	if err != nil {
		return usageErrorf("%v", err)
	}
	if !push && rpath == "" {
		return usageErrorf("pull needs a path: HOST:PORT/PATH")
	}
	if opts.Connections < 1 {
		return usageErrorf("--connections %d: must be at least 1", opts.Connections)
	}
	if err := opts.check(p, push, local); err != nil {
		return err
	}
	id, err := opts.load()
	if err != nil {
		return err
	}
	pin, save, err := opts.pin(hostport)
	if err != nil {
		return err
	}
	var saveOnce sync.Once
	var saveErr error
	level := slog.LevelWarn
	if opts.Verbose > 1 {
		level = slog.LevelDebug
	}
	cfg := agent.ClientConfig{
		Identity: id, Pin: pin, Transport: string(opts.Transport), Connections: opts.Connections,
		IdleTimeout: opts.IdleTimeout, Atomic: opts.Atomic,
		PinVerified: func() { saveOnce.Do(func() { saveErr = save() }) },
		Log:         slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level})),
	}
	switch {
	case push && isDir(local):
		return runPushTree(ctx, opts, p, cfg, local, remote)
	case !push && isTree(push, local, rpath):
		return runPullTree(ctx, opts, p, cfg, remote, local)
	}
	rep, eopt, err := opts.prepare(&cfg, p, push, local)
	if err != nil {
		return err
	}
	var out agent.Outcome
	err = opts.retryOptions.do(ctx, os.Stderr, rep.reset, func() (err error) {
		if push {
			out, err = agent.Push(ctx, cfg, local, remote, p, eopt)
		} else {
			out, err = agent.Pull(ctx, cfg, remote, local, p, eopt)
		}
		return err
	})
	if saveErr != nil {
		fmt.Fprintf(os.Stderr, "pdiffagent: warning: the pin was verified but could not be remembered: %v\n", saveErr)
	}
	if errors.Is(err, agent.ErrPinMismatch) && opts.Pin == "" {
		err = fmt.Errorf("%w (the pin for %s comes from %s; if the server's identity changed on purpose, pass --pin NEW --replace-pin)",
			err, hostport, agent.OpenKnownHosts(opts.identityOptions.dir()).Path())
	}
	if opts.Verbose > 0 && err == nil {
		fmt.Fprintf(os.Stderr, "%s over %s: %d workers on %d connection(s)\n", hostport, out.Transport, out.Workers, out.Connections)
	}
	return rep.finish(ctx, result{Stats: out.Stats, Transport: out.Transport, Connections: out.Connections}, opts.atomicHint(err))
}

// pin is --pin, or the pin remembered for hostport. save remembers a new
// --pin; call it only once a handshake verified it (ClientConfig.
// PinVerified), so that a mistyped pin never replaces a good one. A --pin
// that differs from a remembered one needs --replace-pin.
func (o *remoteOptions) pin(hostport string) (fp string, save func() error, err error) {
	kh := agent.OpenKnownHosts(o.identityOptions.dir())
	none := func() error { return nil }
	old, known := kh.Lookup(hostport)
	if o.Pin == "" {
		if known {
			return old, none, nil
		}
		return "", nil, usageErrorf("no pin for %s: run `pdiffagent id` on the server and pass --pin sha256:…", hostport)
	}
	if fp, err = agent.ParseFingerprint(o.Pin); err != nil {
		return "", nil, usageErrorf("--pin: %v", err)
	}
	switch {
	case known && old == fp:
		return fp, none, nil
	case known && !o.ReplacePin:
		return "", nil, usageErrorf("--pin %s differs from the pin remembered for %s in %s (%s): check it, or pass --replace-pin if the server's identity changed on purpose",
			fp, hostport, kh.Path(), old)
	}
	return fp, func() error { return kh.Add(hostport, fp) }, nil
}

// prepare makes what a push or pull of local reports and runs with, over
// any transport: the reporter (for push, of the local file's size), the
// engine options (cache, read path, --io-limit) and cfg's --bwlimit.
func (o *remoteOptions) prepare(cfg *agent.ClientConfig, p engine.Params, push bool, local string) (*syncReporter, engine.Options, error) {
	var total int64
	if push {
		var err error
		if total, _, err = fileSize(local); err != nil {
			return nil, engine.Options{}, err
		}
	}
	store, err := o.cacheOptions.open(o.identityOptions.dir())
	if err != nil {
		return nil, engine.Options{}, err
	}
	rep := o.newReporter(total)
	rep.atomic = o.Atomic && !o.DryRun
	eopt := engine.Options{Progress: rep.Progress(), Cache: store}
	o.readOptions.apply(&eopt)
	o.limitOptions.apply(&eopt, p.BlockSize)
	cfg.Link, eopt.Link = eopt.Link, nil // the agent paces its streams
	return rep, eopt, nil
}

// check applies what every push and pull checks before connecting.
func (o *remoteOptions) check(p engine.Params, push bool, local string) error {
	if o.IdleTimeout <= 0 {
		return usageErrorf("--idle-timeout %v: must be positive", o.IdleTimeout)
	}
	if err := o.limitOptions.checkBlock(p.BlockSize, o.IdleTimeout); err != nil {
		return err
	}
	if !push && !isDir(local) {
		if err := checkLocalKind(local); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		return o.checkAtomicTarget(local)
	}
	return nil
}
