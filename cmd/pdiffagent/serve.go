package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/pdiffagent/pdiffagent/agent"
	"github.com/pdiffagent/pdiffagent/engine"
	"github.com/pdiffagent/pdiffagent/engine/cache"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// serveOptions are serve's flags: listen's policy, without the network.
type serveOptions struct {
	identityOptions
	limitOptions
	policyOptions
	Stdio     bool
	NoCache   bool
	Verbose   int
	LogFormat string
	cacheOptions
	policy string // the flags that shape what is served (servePolicy): a joining serve must have the same
}

func newServeCommand(opts *serveOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "serve --stdio [--root DIR] [policy flags]",
		Short: "Serve push and pull over stdin and stdout (what push and pull run through ssh)",
		Long: `serve --stdio serves the sessions of one client over its stdin and stdout:
push SRC [user@]host:/path and pull [user@]host:/path DST run it on the far
side through ssh (-e/--rsh, --remote-path), with the workers' streams
multiplexed over the one pipe. ssh authenticates the client, so there are no
pins; the far side takes listen's policy flags, so that it can be pinned in
authorized_keys as a forced command, the way rrsync restricts rsync:

  command="pdiffagent serve --stdio --root /srv/images --read-only",restrict ssh-ed25519 AAAA…

A forced command's --root wins: the client's absolute paths are then taken
beneath it. Log lines go to stderr, which ssh shows the client.

With push and pull --ssh-connections N, the first serve --stdio of a session
hands the client N-1 single-use tokens, and N-1 more serve --stdio processes
(the same forced command, if any) join it with one each: they pass their
stdin and stdout to the first through a unix socket in a private directory
($XDG_RUNTIME_DIR or the temporary directory, pdiffagent-UID) and wait for
the session's end. A join under other policy flags than the first's is
refused.`,
		Args: exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.policy = servePolicy(cmd.Flags())
			return runServe(cmd.Context(), opts)
		},
	}
	f := cmd.Flags()
	f.BoolVar(&opts.Stdio, "stdio", false, "serve over stdin and stdout (required)")
	opts.policyOptions.AddFlags(f, "/", "directory the client's paths are taken beneath")
	opts.identityOptions.AddFlags(f)
	opts.cacheOptions.AddFlags(f)
	f.BoolVar(&opts.NoCache, "no-cache", false, "keep no block-hash cache")
	f.Var(&opts.BWLimit, "bwlimit", "cap the bytes served at `RATE` per second (units as push's --bwlimit); 0 = no limit")
	f.Var(&opts.IOLimit, "io-limit", "cap the rate at which served files are read to hash them, `RATE` per second; 0 = no limit")
	f.CountVarP(&opts.Verbose, "verbose", "v", "log more (warnings only by default)")
	f.StringVar(&opts.LogFormat, "log-format", "text", "log lines on stderr as text or json")
	return cmd
}

func runServe(ctx context.Context, opts *serveOptions) error {
	if !opts.Stdio {
		return usageErrorf("serve needs --stdio (listen serves the network)")
	}
	if opts.LogFormat != "text" && opts.LogFormat != "json" {
		return usageErrorf("--log-format %q: want text or json", opts.LogFormat)
	}
	if checkPipes("push", "") != nil {
		return usageErrorf("serve --stdio speaks to a pdiffagent client on its stdin, not to a terminal: run push or pull with a [user@]host:/path remote")
	}
	level := slog.LevelWarn
	if opts.Verbose > 0 {
		level = slog.LevelInfo
	}
	if opts.Verbose > 1 {
		level = slog.LevelDebug
	}
	log := newLogger(os.Stderr, opts.LogFormat, level)
	var store *cache.Store
	if !opts.NoCache {
		s, err := opts.cacheOptions.open(opts.identityOptions.dir())
		if err != nil {
			log.Warn("no block-hash cache", "err", err)
		} else {
			store = s
		}
	}
	client := "ssh"
	if c := os.Getenv("SSH_CLIENT"); c != "" {
		client = "ssh " + c
	}
	cfg := agent.ServerConfig{Log: log, Cache: store,
		Link: opts.link(engine.DefaultBlockSize), ReadLimit: opts.IOLimit.rate(engine.DefaultBlockSize)}
	opts.policyOptions.apply(&cfg)
	req, err := readJoinRequest(os.Stdin)
	switch {
	case errors.Is(err, io.EOF):
		return nil // the client went before it began
	case err != nil:
		return err
	case req.op == joinJoin:
		return joinSession(ctx, req.token, opts.policy, os.Stdin, os.Stdout)
	case req.op == joinOffer:
		rv, toks, err := openRendezvous(req.joins, opts.policy)
		if err != nil {
			os.Stdout.Write(appendRefuse(nil, err.Error()))
			return fmt.Errorf("--ssh-connections: %w", err)
		}
		defer rv.close()
		if _, err := os.Stdout.Write(appendTokens(nil, toks)); err != nil {
			return err
		}
		log.Info("session open to joins", "joins", req.joins)
		return agent.ServeTunnel(ctx, cfg, stdio{}, client, rv.joins)
	}
	return agent.ServeTunnel(ctx, cfg, withPrefix(req.rest, stdio{}), client, nil)
}

// servePolicy is what a joining serve --stdio must share with the session's
// first: every flag but the logging ones, as set (forced commands in
// authorized_keys included).
func servePolicy(f *pflag.FlagSet) string {
	var b strings.Builder
	f.VisitAll(func(fl *pflag.Flag) {
		switch fl.Name {
		case "verbose", "log-format", "help":
			return
		}
		fmt.Fprintf(&b, "%s=%s\n", fl.Name, fl.Value)
	})
	return b.String()
}

// stdio is the process's stdin and stdout as one pipe.
type stdio struct{}

func (stdio) Read(p []byte) (int, error)  { return os.Stdin.Read(p) }
func (stdio) Write(p []byte) (int, error) { return os.Stdout.Write(p) }
func (stdio) Close() error                { return os.Stdout.Close() }
