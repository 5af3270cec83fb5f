package agent

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/pdiffagent/pdiffagent/engine"
	"github.com/pdiffagent/pdiffagent/wire"
)

// DefaultPort is the port a remote without one refers to, and the one a
// server listens on by default.
const DefaultPort = 9443

// Client defaults.
const (
	DefaultDialTimeout = 10 * time.Second
)

// Transports.
const (
	TransportTCP  = "tcp"  // TLS 1.3 over TCP, one connection per worker
	TransportQUIC = "quic" // QUIC, one stream per worker
)

// ClientConfig configures Push and Pull.
type ClientConfig struct {
	// Identity is the client's key and certificate. Required.
	Identity *Identity
	// Pin is the server's fingerprint ("sha256:…", see ParseFingerprint).
	// Required: a client never connects without one.
	Pin string
	// PinVerified, when set, is called after a server's certificate
	// matched Pin in a TLS handshake (possibly more than once: once per
	// connection). A caller that remembers pins saves a new one here, not
	// before: a mistyped pin never replaces a good one.
	PinVerified func()
	// Transport is TransportTCP ("tcp", the default when empty) or
	// TransportQUIC ("quic").
	Transport string
	// Connections is the number of QUIC connections the workers' streams
	// are spread over, round-robin (several connections use several
	// cores, and several flows on a bonded link). Zero means 1; it is
	// capped at the number of workers. Over TCP every worker has a TLS
	// connection of its own, so Connections is ignored and the session
	// uses as many connections as workers.
	Connections int
	// Log receives debug detail about sessions. nil discards.
	Log *slog.Logger
	// DialTimeout bounds setting up each connection and stream: dial,
	// TLS handshake, and the server's answer to the session's Open. Zero
	// means DefaultDialTimeout (10s).
	DialTimeout time.Duration
	// IdleTimeout is how long the server may leave the client waiting
	// without a message before the session fails: the QUIC idle timeout,
	// the TCP keepalive and user timeouts, and the session watchdog, which
	// also catches a server whose process stopped (watchdog.go). Zero
	// means DefaultIdleTimeout (60s).
	IdleTimeout time.Duration
	// Atomic replaces the target only at the end: the sync runs into a
	// temporary file beside it (a reflink clone or a copy of it), renamed
	// over it once verified and fsynced, so that an interrupted run leaves
	// the complete old file. Push asks the server for it (wire.FlagAtomic);
	// Pull does it locally. The target must be a regular file (or
	// missing), and its filesystem needs room for both copies unless it has
	// reflinks. A dry run ignores it.
	Atomic bool
	// Link, when not nil, caps the bytes the session's streams carry, both
	// ways, all workers together (--bwlimit; engine.ThrottleStream).
	Link *engine.Rate
	// Tunnel, when not nil, carries the session instead of TLS or QUIC: a
	// byte pipe to `pdiffagent serve --stdio` (ssh's stdin and stdout),
	// its streams multiplexed by yamux (transport_tunnel.go). The remote
	// of Push and Pull is then only the path; Identity and Pin are not
	// used (ssh authenticated both ends). The caller closes it.
	Tunnel io.ReadWriteCloser
	// Tunnels are more pipes to the same far process as Tunnel (further
	// ssh sessions that joined it: --ssh-connections), each multiplexed
	// by a yamux session of its own: worker w's stream goes over pipe
	// w mod (1+len(Tunnels)), Tunnel being pipe 0 and carrying the control
	// stream. Used only with Tunnel; the caller closes them.
	Tunnels []io.ReadWriteCloser
}

func (c ClientConfig) populate(hostport string) (ClientConfig, error) {
	if c.Tunnel != nil {
		c.Transport = TransportSSH
		return c.defaults(), nil
	}
	if c.Identity == nil {
		return c, errors.New("agent: client has no identity")
	}
	if strings.TrimSpace(c.Pin) == "" {
		return c, fmt.Errorf("no pin for %s: run `pdiffagent id` on the server and pass --pin sha256:…", hostport)
	}
	pin, err := ParseFingerprint(c.Pin)
	if err != nil {
		return c, err
	}
	c.Pin = pin
	switch strings.ToLower(c.Transport) {
	case "", TransportTCP:
		c.Transport = TransportTCP
	case TransportQUIC:
		c.Transport = TransportQUIC
	default:
		return c, fmt.Errorf("transport %q: want tcp or quic", c.Transport)
	}
	return c.defaults(), nil
}

// defaults fills the zero fields that have defaults.
func (c ClientConfig) defaults() ClientConfig {
	if c.Connections <= 0 {
		c.Connections = 1
	}
	if c.Log == nil {
		c.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if c.DialTimeout <= 0 {
		c.DialTimeout = DefaultDialTimeout
	}
	if c.IdleTimeout <= 0 {
		c.IdleTimeout = DefaultIdleTimeout
	}
	return c
}

// Outcome is the result of Push or Pull: the engine's Stats and how the
// session travelled.
type Outcome struct {
	engine.Stats
	Transport   string `json:"transport"`   // "tcp" or "quic"
	Connections int    `json:"connections"` // network connections used
	Workers     int    `json:"workers"`     // streams, as accepted by the server
}

// Push brings the server's file remote ("host:port/path") up to date with
// the local file local. An empty remote path means local's base name.
func Push(ctx context.Context, cfg ClientConfig, local, remote string, p engine.Params, opt engine.Options) (Outcome, error) {
	hostport, rpath, err := cfg.parseRemote(remote)
	if err != nil {
		return Outcome{}, err
	}
	if rpath == "" {
		rpath = filepath.Base(local)
	}
	if cfg, err = cfg.populate(hostport); err != nil {
		return Outcome{}, err
	}
	src, err := engine.OpenSource(engine.LocalOpener{Direct: opt.Direct}, local)
	if err != nil {
		return Outcome{}, err
	}
	defer src.File.Close()
	if p, err = p.Bind(src.Size); err != nil {
		return Outcome{}, err
	}
	open := openMessage(wire.OpPush, rpath, p)
	open.Size, open.ModTime, open.Mode = src.Size, src.ModTime, uint32(src.Mode)
	if cfg.Atomic && !p.DryRun {
		open.Flags |= wire.FlagAtomic
	}
	return runClient(ctx, cfg, hostport, open, p, func(ctx context.Context, p engine.Params, streams []engine.Stream) (engine.Stats, error) {
		return engine.Send(ctx, src, p, streams, opt)
	})
}

// Pull brings the local file local up to date with the server's file
// remote ("host:port/path"). A missing local file is created, unless
// p.DryRun; if the session then fails before anything was written, it is
// removed again.
func Pull(ctx context.Context, cfg ClientConfig, remote, local string, p engine.Params, opt engine.Options) (Outcome, error) {
	hostport, rpath, err := cfg.parseRemote(remote)
	if err != nil {
		return Outcome{}, err
	}
	if rpath == "" {
		return Outcome{}, fmt.Errorf("remote %q names no file: want host:port/path", remote)
	}
	if cfg, err = cfg.populate(hostport); err != nil {
		return Outcome{}, err
	}
	// The source's size is the server's, known from its answer (which
	// binds p): check everything else now.
	if p.Session, err = p.Session.Normalize(); err != nil {
		return Outcome{}, err
	}
	if err := p.CheckRange(p.BlockSize); err != nil {
		return Outcome{}, err
	}
	// Open an existing target now, so that a local problem is found before
	// the server does any work (an atomic replacement is made and filled
	// now too, so that no network timer runs during the copy); create a
	// missing one only once the server has accepted the session.
	t, err := engine.OpenTarget(ctx, engine.LocalOpener{Direct: opt.Direct}, local, p.DryRun, cfg.Atomic)
	if err != nil {
		return Outcome{}, err
	}
	open := openMessage(wire.OpPull, rpath, p)
	out, err := runClient(ctx, cfg, hostport, open, p, func(ctx context.Context, p engine.Params, streams []engine.Stream) (engine.Stats, error) {
		if err := t.Create(); err != nil {
			return engine.Stats{}, err
		}
		return engine.ReceiveTarget(ctx, t, p, streams, opt) // commits an atomic pull
	})
	t.Close(err, out.Stats)
	return out, err
}

// ParseRemote splits "host:port/path" (or "[v6addr]:port/path") into the
// address and the path on the server. The port may be left out
// (DefaultPort); the path may be empty.
func ParseRemote(s string) (hostport, path string, err error) {
	i := strings.IndexByte(s, '/')
	if strings.HasPrefix(s, "[") {
		end := strings.IndexByte(s, ']')
		if end < 0 {
			return "", "", fmt.Errorf("remote %q: missing ']' after an IPv6 address", s)
		}
		if j := strings.IndexByte(s[end:], '/'); j >= 0 {
			i = end + j
		} else {
			i = -1
		}
	}
	hp := s
	if i >= 0 {
		hp, path = s[:i], s[i+1:]
	}
	host, port, err := net.SplitHostPort(hp)
	if err != nil {
		// No port: "host" or "[v6addr]".
		host, port = strings.TrimSuffix(strings.TrimPrefix(hp, "["), "]"), strconv.Itoa(DefaultPort)
		if strings.ContainsAny(host, "[]") || (strings.Contains(host, ":") && !strings.HasPrefix(hp, "[")) {
			return "", "", fmt.Errorf("remote %q: want host:port/path (IPv6 addresses in brackets)", s)
		}
	}
	if host == "" {
		return "", "", fmt.Errorf("remote %q: no host: want host:port/path", s)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return "", "", fmt.Errorf("remote %q: port %q is not a number from 1 to 65535", s, port)
	}
	return net.JoinHostPort(host, port), path, nil
}

// parseRemote is ParseRemote, or, over a tunnel, remote as the path.
func (c ClientConfig) parseRemote(remote string) (hostport, path string, err error) {
	if c.Tunnel != nil {
		return TransportSSH, remote, nil
	}
	return ParseRemote(remote)
}
