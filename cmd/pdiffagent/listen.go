package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/pdiffagent/pdiffagent/agent"
	"github.com/pdiffagent/pdiffagent/engine"
	"github.com/pdiffagent/pdiffagent/engine/cache"
	"github.com/spf13/cobra"
)

type listenOptions struct {
	identityOptions
	cacheOptions
	policyOptions
	NoCache          bool
	Allow            []string
	AllowFile        string
	AllowReadOnly    []string
	MaxMemory        sizeValue
	MaxSessions      int
	MaxPerClient     int
	HandshakeTimeout time.Duration
	IdleTimeout      time.Duration
	VerifyInterval   time.Duration
	Verbose          int
	LogFormat        string
	limitOptions
	readOptions
}

func newListenCommand(opts *listenOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "listen [ADDR] --root DIR --allow FP",
		Short: "Serve a directory tree to pinned peers over QUIC and TLS-over-TCP",
		Long: `listen serves the files beneath --root to the clients whose fingerprints are
allowed, on QUIC (UDP) and TLS 1.3 over TCP on the same port (ADDR, default
:9443). Nothing is served to anyone else; no path escapes the root.`,
		Example: `  pdiffagent listen :9443 --root /srv/images --allow sha256:3f1c…
  pdiffagent listen [::]:9443 --root /var/lib/db --allow-file /etc/pdiffagent/clients --read-only`,
		Args: rangeArgs(0, 1, "at most one ADDR"),
		RunE: func(cmd *cobra.Command, args []string) error {
			addr := ":9443"
			if len(args) == 1 {
				addr = args[0]
			}
			return runListen(cmd.Context(), opts, addr)
		},
	}
	f := cmd.Flags()
	opts.identityOptions.AddFlags(f)
	opts.readOptions.AddFlags(f)
	opts.policyOptions.AddFlags(f, "", "directory served (required)")
	f.StringArrayVar(&opts.Allow, "allow", nil, "fingerprint of a client allowed to push and pull (repeatable)")
	f.StringArrayVar(&opts.AllowReadOnly, "allow-read-only", nil, "fingerprint of a client allowed only to pull (repeatable)")
	f.StringVar(&opts.AllowFile, "allow-file", "", "file of allowed fingerprints, one per line, each optionally followed by read-only (# comments); read again on SIGHUP, ending the sessions of clients removed")
	opts.MaxMemory = agent.DefaultMaxMemory
	f.Var(&opts.MaxMemory, "max-memory", "budget of block buffers for all sessions at once; sessions get fewer workers, or wait, to fit")
	f.IntVar(&opts.MaxSessions, "max-sessions", agent.DefaultMaxSessions, "sessions at once")
	f.IntVar(&opts.MaxPerClient, "max-sessions-per-client", agent.DefaultMaxSessionsPerClient, "sessions at once from one client")
	f.DurationVar(&opts.HandshakeTimeout, "handshake-timeout", agent.DefaultHandshakeTimeout, "time allowed for a connection's handshake")
	f.DurationVar(&opts.IdleTimeout, "idle-timeout", agent.DefaultIdleTimeout, "a silent peer is dropped after this long")
	opts.cacheOptions.AddFlags(f)
	f.BoolVar(&opts.NoCache, "no-cache", false, "keep no block-hash cache: read every file whole in every session")
	f.DurationVar(&opts.VerifyInterval, "verify-interval", 0, "every `DURATION` (e.g. 24h), re-read the files beneath the root that have a block-hash record, one at a time at low priority within --io-limit, and log blocks that no longer match (as verify does); 0: never")
	f.CountVarP(&opts.Verbose, "verbose", "v", "log more")
	f.Var(&opts.BWLimit, "bwlimit", "cap the bytes all sessions send and receive together at `RATE` per second (units as push's --bwlimit: 50M = 50 MiB/s); 0 = no limit")
	f.Var(&opts.IOLimit, "io-limit", "cap the rate at which all sessions' hashing passes read served files, `RATE` per second; 0 = no limit")
	f.StringVar(&opts.LogFormat, "log-format", "text", "log lines on stderr as text (key=value) or json (one object per line)")
	return cmd
}

func runListen(ctx context.Context, opts *listenOptions, addr string) error {
	if opts.Root == "" {
		return usageErrorf("--root is required")
	}
	for _, l := range []struct {
		flag string
		n    int
	}{{"--max-sessions", opts.MaxSessions}, {"--max-sessions-per-client", opts.MaxPerClient}, {"--max-workers", opts.MaxWorkers}} {
		if l.n <= 0 {
			return usageErrorf("%s %d: must be positive", l.flag, l.n)
		}
	}
	if opts.HandshakeTimeout <= 0 || opts.IdleTimeout <= 0 {
		return usageErrorf("--handshake-timeout %v, --idle-timeout %v: must be positive", opts.HandshakeTimeout, opts.IdleTimeout)
	}
	if opts.MaxMemory <= 0 {
		return usageErrorf("--max-memory %d: must be positive", opts.MaxMemory)
	}
	if opts.LogFormat != "text" && opts.LogFormat != "json" {
		return usageErrorf("--log-format %q: want text or json", opts.LogFormat)
	}
	if opts.VerifyInterval < 0 || (opts.VerifyInterval > 0 && (opts.NoCache || opts.CacheDir == cacheOff)) {
		return usageErrorf("--verify-interval %v: want a positive duration, with the block-hash cache on", opts.VerifyInterval)
	}
	allow, readOnly, err := opts.allowList()
	if err != nil {
		return err
	}
	if len(allow)+len(readOnly) == 0 {
		return usageErrorf("no client allowed: pass --allow sha256:… (run `pdiffagent id` on each client) or --allow-file")
	}
	id, err := opts.load()
	if err != nil {
		return err
	}
	var store *cache.Store
	if !opts.NoCache {
		if store, err = opts.cacheOptions.open(opts.identityOptions.dir()); err != nil {
			return err
		}
		if store != nil && insideRoot(store.Dir(), opts.Root) {
			return usageErrorf("--cache-dir %s is inside the served root %s: peers could reach its records", store.Dir(), opts.Root)
		}
	}
	level := slog.LevelInfo
	if opts.Verbose > 0 {
		level = slog.LevelDebug
	}
	log := newLogger(os.Stderr, opts.LogFormat, level)
	if opts.VerifyInterval > 0 && store == nil {
		log.Warn("no scrub (--verify-interval): there is no block-hash cache")
	}
	cfg := agent.ServerConfig{
		Allow: allow, AllowReadOnly: readOnly, MaxMemory: int64(opts.MaxMemory),
		Identity: id, Log: log, MaxSessions: opts.MaxSessions, MaxSessionsPerClient: opts.MaxPerClient,
		HandshakeTimeout: opts.HandshakeTimeout, IdleTimeout: opts.IdleTimeout,
		ReadPath: engine.ReadPath(opts.ReadPath), DirectRead: opts.DirectRead,
		Link: opts.link(engine.DefaultBlockSize), ReadLimit: opts.IOLimit.rate(engine.DefaultBlockSize), Cache: store,
		VerifyInterval: opts.VerifyInterval,
	}
	opts.policyOptions.apply(&cfg)
	srv, err := agent.Listen(ctx, addr, cfg)
	if err != nil {
		return err
	}
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	go func() {
		for {
			select {
			case <-hup:
				opts.reload(srv, log)
			case <-ctx.Done():
				return
			}
		}
	}()
	err = srv.Serve(ctx)
	srv.Close()
	if ctx.Err() != nil {
		log.Info("stopped")
		return nil
	}
	return err
}

// allowList is --allow and --allow-read-only with the fingerprints of
// --allow-file added.
func (o *listenOptions) allowList() (allow, readOnly []string, err error) {
	allow = append([]string(nil), o.Allow...)
	readOnly = append([]string(nil), o.AllowReadOnly...)
	if o.AllowFile != "" {
		more, ro, err := readAllowFile(o.AllowFile)
		if err != nil {
			return nil, nil, err
		}
		allow, readOnly = append(allow, more...), append(readOnly, ro...)
	}
	return allow, readOnly, nil
}

// reload reads --allow-file again (on SIGHUP) and gives srv the new lists,
// logging who was added and removed; the sessions of the removed end. A
// file that cannot be read, or leaves no client, keeps the old lists.
func (o *listenOptions) reload(srv *agent.Server, log *slog.Logger) {
	allow, readOnly, err := o.allowList()
	if err == nil {
		var added, removed []string
		if added, removed, err = srv.SetAllow(allow, readOnly); err == nil {
			log.Info("allow list reloaded", "file", o.AllowFile, "clients", len(allow)+len(readOnly), "added", added, "removed", removed)
			for _, fp := range removed {
				log.Info("client removed: its sessions end", "client", fp)
			}
			return
		}
	}
	log.Warn("allow list not reloaded: the old one stays", "file", o.AllowFile, "err", err)
}

// readAllowFile reads an allow file: one fingerprint per line, optionally
// followed by the word read-only (the client may only pull); # starts a
// comment. Any other word is an error, never ignored: a mistyped mark must
// not leave a client more rights than meant.
func readAllowFile(path string) (allow, readOnly []string, err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		words := strings.Fields(line)
		if len(words) == 0 {
			continue
		}
		fp, err := agent.ParseFingerprint(words[0])
		if err != nil {
			return nil, nil, fmt.Errorf("%s:%d: %w", path, n, err)
		}
		switch {
		case len(words) == 1:
			allow = append(allow, fp)
		case len(words) == 2 && words[1] == "read-only":
			readOnly = append(readOnly, fp)
		default:
			return nil, nil, fmt.Errorf("%s:%d: %q after the fingerprint: the only word allowed there is read-only", path, n, strings.Join(words[1:], " "))
		}
	}
	return allow, readOnly, sc.Err()
}

// reserveValue is --min-free: a size, or a percentage of the filesystem.
type reserveValue struct {
	bytes   int64 // > 0: a size; < 0: no reserve
	percent int   // when bytes is 0
}

func (v *reserveValue) String() string {
	switch {
	case v.bytes > 0:
		return formatSize(v.bytes)
	case v.bytes < 0:
		return "0"
	}
	return strconv.Itoa(v.percent) + "%"
}

func (v *reserveValue) Type() string { return "size|N%" }

func (v *reserveValue) Set(s string) error {
	if p, ok := strings.CutSuffix(strings.TrimSpace(s), "%"); ok {
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 || n > 100 {
			return fmt.Errorf("%q: want a percentage from 0%% to 100%%", s)
		}
		*v = reserveValue{percent: n}
		if n == 0 {
			v.bytes = -1
		}
		return nil
	}
	n, err := engine.ParseSize(s)
	if err != nil {
		return err
	}
	*v = reserveValue{bytes: n}
	if n == 0 {
		v.bytes = -1
	}
	return nil
}

// newLogger writes slog records to w as text or JSON.
func newLogger(w io.Writer, format string, level slog.Level) *slog.Logger {
	hopts := &slog.HandlerOptions{Level: level}
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, hopts))
	}
	return slog.New(slog.NewTextHandler(w, hopts))
}
