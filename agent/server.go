package agent

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/pdiffagent/pdiffagent/engine"
	"github.com/pdiffagent/pdiffagent/engine/cache"
	"github.com/pdiffagent/pdiffagent/wire"
	"github.com/quic-go/quic-go"
)

// Server defaults (the zero value of each ServerConfig field).
const (
	DefaultMaxSessions          = 64
	DefaultMaxSessionsPerClient = 8
	DefaultMaxWorkers           = 256
	DefaultHandshakeTimeout     = 10 * time.Second
	DefaultIdleTimeout          = 60 * time.Second
)

// ServerConfig configures Listen.
type ServerConfig struct {
	// Root is the directory every client path is resolved beneath (the
	// jail). Required.
	Root string
	// Allow lists the fingerprints of the clients that may connect
	// ("sha256:…", see ParseFingerprint). At least one of Allow and
	// AllowReadOnly must be set.
	Allow []string
	// AllowReadOnly lists clients that may only pull. A fingerprint in
	// both lists may push.
	AllowReadOnly []string
	// ReadOnly refuses every push (wire.CodeDenied "server is read-only").
	ReadOnly bool
	// AllowDevices accepts block devices beneath the root as targets and
	// sources, and lets a tree push make device nodes (block and
	// character, wire.TreeMknod; mknod needs root) inside its tree: a
	// client that may push can then make a node for any device of this
	// machine. Character devices, FIFOs and sockets are never synced as
	// files.
	AllowDevices bool
	// AllowHardlinks serves, and writes in place, regular files that have
	// more than one name (hard links). By default they are refused: the
	// other name may be outside the root (guard.go).
	AllowHardlinks bool
	// AllowOwner lets pushing clients give their targets the source's
	// owner and group (wire.FlagOwner); by default such a push is refused,
	// so that a root server never applies a client's uid and gid unasked.
	AllowOwner bool
	// MinFree is the room, in bytes, that a push must leave free on the
	// filesystem of its target (space.go). Zero means MinFreePercent of
	// that filesystem; negative, no reserve.
	MinFree int64
	// MinFreePercent is the reserve as a percentage (0..100) of the
	// filesystem, when MinFree is zero. Zero means DefaultMinFreePercent (1).
	MinFreePercent int
	// MaxHandshakes bounds the TLS-over-TCP handshakes in progress
	// (handshakes.go). Zero means a quarter of the descriptor limit, from
	// 64 to 1024.
	MaxHandshakes int
	// MaxHandshakesPerAddr bounds them per source address. Zero means
	// DefaultMaxHandshakesPerAddr (64); at most MaxHandshakes.
	MaxHandshakesPerAddr int
	// MaxMemory bounds the bytes of block buffers of all sessions at once
	// (budget.go). Zero means DefaultMaxMemory (512 MiB).
	MaxMemory int64
	// MaxFileSize refuses pushes of sources larger than this many bytes.
	// Zero means no limit.
	MaxFileSize int64
	// Cache is the server's block-hash cache (engine/cache): records of the
	// files it served or wrote, so that an unchanged file is not read
	// again, and journals that let an interrupted push resume. nil: none.
	// Its directory must not be inside Root.
	Cache *cache.Store
	// VerifyInterval, when positive and Cache is set, scrubs the files
	// beneath Root that have a record every this long (scrub.go): each is
	// re-read and compared with its record, and blocks that no longer
	// match are logged (listen --verify-interval). Zero: never.
	VerifyInterval time.Duration
	// Identity is the server's key and certificate. Required.
	Identity *Identity
	// Log receives refusals and one line per session. nil discards.
	Log *slog.Logger
	// MaxSessions bounds the sessions running at once; more get
	// wire.CodeBusy. Zero means DefaultMaxSessions (64).
	MaxSessions int
	// MaxSessionsPerClient bounds the sessions one client (fingerprint)
	// runs at once, so that one client cannot take every slot; more get
	// wire.CodeBusy. Zero means DefaultMaxSessionsPerClient (8); at most
	// MaxSessions.
	MaxSessionsPerClient int
	// MaxWorkers bounds the workers (streams) of one session; a client
	// asking for more is given this many. Zero means DefaultMaxWorkers
	// (256); at most wire.MaxWorkers.
	MaxWorkers int
	// HandshakeTimeout bounds a connection's TLS handshake, the Hello and
	// Open or Attach that follow it, and the wait for a session's worker
	// streams. Zero means DefaultHandshakeTimeout (10s).
	HandshakeTimeout time.Duration
	// IdleTimeout is how long a peer that sends nothing, not even
	// keepalives, is tolerated: the QUIC idle timeout, and the TCP
	// keepalive and user timeouts; and how long a session may wait for a
	// client that sends nothing although its kernel still acknowledges (a
	// stopped process: the session watchdog, watchdog.go). Zero means
	// DefaultIdleTimeout (60s).
	IdleTimeout time.Duration
	// ReadPath is how the server reads the blocks it hashes; the zero
	// value is engine.ReadPread, the default.
	ReadPath engine.ReadPath
	// DirectRead reads served files with O_DIRECT (sysio.DirectOn), so
	// that syncing replicas larger than memory does not evict the
	// server's page cache; where a filesystem refuses O_DIRECT, the pages
	// read are dropped from the cache instead.
	DirectRead bool
	// Link, when not nil, caps the bytes all sessions carry together, both
	// ways (listen --bwlimit); ReadLimit the rate at which their hashing
	// passes read served files (listen --io-limit). nil: no limit.
	Link, ReadLimit *engine.Rate

	// olderCaps, when not zero, are the capabilities the server announces
	// and uses in place of wire.AgentCaps: tests play an older server.
	olderCaps wire.Caps
}

// populate checks c and fills its defaults. A tunnel server (ServeTunnel:
// ssh authenticated the client) needs no identity and no allow list.
func (c ServerConfig) populate(tunnel bool) (ServerConfig, error) {
	if c.Identity == nil && !tunnel {
		return c, errors.New("agent: server has no identity")
	}
	if c.Root == "" {
		return c, errors.New("agent: server has no root directory")
	}
	if len(c.Allow)+len(c.AllowReadOnly) == 0 && !tunnel {
		return c, errors.New("agent: no client is allowed: pass the fingerprints of the clients (`pdiffagent id` on each) with --allow sha256:…")
	}
	if c.Log == nil {
		c.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if c.MaxSessions <= 0 {
		c.MaxSessions = DefaultMaxSessions
	}
	if c.MaxSessionsPerClient <= 0 {
		c.MaxSessionsPerClient = DefaultMaxSessionsPerClient
	}
	c.MaxSessionsPerClient = min(c.MaxSessionsPerClient, c.MaxSessions)
	if c.MaxWorkers <= 0 {
		c.MaxWorkers = DefaultMaxWorkers
	}
	c.MaxWorkers = min(c.MaxWorkers, wire.MaxWorkers)
	if c.MaxHandshakes <= 0 {
		c.MaxHandshakes = defaultMaxHandshakes()
	}
	if c.MaxHandshakesPerAddr <= 0 {
		c.MaxHandshakesPerAddr = DefaultMaxHandshakesPerAddr
	}
	c.MaxHandshakesPerAddr = min(c.MaxHandshakesPerAddr, c.MaxHandshakes)
	if c.MaxMemory <= 0 {
		c.MaxMemory = DefaultMaxMemory
	}
	if c.HandshakeTimeout <= 0 {
		c.HandshakeTimeout = DefaultHandshakeTimeout
	}
	if c.IdleTimeout <= 0 {
		c.IdleTimeout = DefaultIdleTimeout
	}
	return c, nil
}

// Server serves pushes and pulls over TLS-over-TCP and QUIC on one port.
type Server struct {
	cfg     ServerConfig
	log     *slog.Logger
	allow   atomic.Pointer[allowList] // replaced by SetAllow
	jail    *jail
	tlsConf *tls.Config

	tcpLn  *net.TCPListener
	udp    *net.UDPConn
	qtr    *quic.Transport
	quicLn *quic.Listener

	ctx      context.Context // ends at Close
	cancel   context.CancelFunc
	closing  atomic.Bool
	dropped  atomic.Int64 // connections closed before their handshake (handshakes.go)
	dropLog  *logLimiter
	stopOnce sync.Once
	closed   chan struct{}  // closed when Close is done
	wg       sync.WaitGroup // every goroutine serving a connection or stream

	mu       sync.Mutex
	sessions map[[wire.SessionIDSize]byte]*session
	running  int            // sessions running (counted against MaxSessions)
	byClient map[string]int // sessions running per client fingerprint
	clients  map[string]*clientConns
	locks    lockTable
	mem      *memBudget
	hs       *handshakeGate // TLS-over-TCP handshakes in progress
	refusals *logLimiter    // paces the WARN line per refused client
	scrub    *scrubber      // VerifyInterval's background scrub (scrub.go)
}

// Listen binds addr ("host:port"; port 0 picks one) for TCP and UDP on the
// same port number and returns a server ready to Serve. With port 0 the
// TCP port is chosen first and UDP is bound to the same number; if that
// UDP port is taken, both are tried again a few times.
func Listen(ctx context.Context, addr string, cfg ServerConfig) (*Server, error) {
	s, err := newServer(ctx, cfg, false)
	if err != nil {
		return nil, err
	}
	cfg, j := s.cfg, s.jail
	s.tlsConf = serverTLSConfig(cfg.Identity, s.allowList, cfg.Log, s.refusals)
	if s.tcpLn, s.udp, err = bindSamePort(ctx, addr, cfg.IdleTimeout); err != nil {
		j.close()
		return nil, err
	}
	s.qtr = &quic.Transport{Conn: s.udp}
	s.quicLn, err = s.qtr.Listen(s.tlsConf, quicConfig(cfg.HandshakeTimeout, cfg.IdleTimeout, cfg.MaxWorkers+1))
	if err != nil {
		s.tcpLn.Close()
		s.udp.Close()
		j.close()
		return nil, fmt.Errorf("agent: QUIC listen: %w", err)
	}
	return s, nil
}

// newServer checks cfg, opens the root and makes a server with no
// listener yet.
func newServer(ctx context.Context, cfg ServerConfig, tunnel bool) (*Server, error) {
	cfg, err := cfg.populate(tunnel)
	if err != nil {
		return nil, err
	}
	allow, err := newAllowList(cfg.Allow, cfg.AllowReadOnly)
	if err != nil {
		return nil, err
	}
	if fi, err := os.Stat(cfg.Root); err != nil {
		return nil, fmt.Errorf("agent: root: %w", err)
	} else if !fi.IsDir() {
		return nil, fmt.Errorf("agent: root %s is not a directory", cfg.Root)
	}
	j, err := newJail(cfg.Root, cfg.AllowDevices)
	if err != nil {
		return nil, err
	}
	s := &Server{
		cfg:      cfg,
		log:      cfg.Log,
		jail:     j,
		sessions: make(map[[wire.SessionIDSize]byte]*session),
		byClient: make(map[string]int),
		mem:      newMemBudget(cfg.MaxMemory),
		clients:  make(map[string]*clientConns),
		hs:       newHandshakeGate(cfg.MaxHandshakes, cfg.MaxHandshakesPerAddr),
		closed:   make(chan struct{}),
		scrub:    newScrubber(cfg.Root),
	}
	s.allow.Store(&allow)
	s.refusals, s.dropLog = newLogLimiter(), newLogLimiter()
	s.ctx, s.cancel = context.WithCancel(context.WithoutCancel(ctx))
	return s, nil
}

// bindSamePort listens on TCP and UDP with one port number.
func bindSamePort(ctx context.Context, addr string, idle time.Duration) (*net.TCPListener, *net.UDPConn, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, nil, fmt.Errorf("agent: listen address %q: %w", addr, err)
	}
	tries := 1
	if port == "" || port == "0" {
		tries = 8
	}
	lc := net.ListenConfig{KeepAliveConfig: tcpKeepAlive(idle)}
	for try := 1; ; try++ {
		l, err := lc.Listen(ctx, "tcp", addr)
		if err != nil {
			return nil, nil, fmt.Errorf("agent: listen: %w", err)
		}
		tl := l.(*net.TCPListener)
		uaddr := net.JoinHostPort(host, strconv.Itoa(tl.Addr().(*net.TCPAddr).Port))
		pc, err := lc.ListenPacket(ctx, "udp", uaddr)
		if err == nil {
			return tl, pc.(*net.UDPConn), nil
		}
		tl.Close()
		if try >= tries || !errors.Is(err, syscall.EADDRINUSE) {
			return nil, nil, fmt.Errorf("agent: listen (QUIC needs the TCP port number on UDP too): %w", err)
		}
	}
}

// Addr is the address the server listens on (TCP and UDP share the port).
func (s *Server) Addr() string { return s.tcpLn.Addr().String() }

// Fingerprint is the server's identity, the pin its clients need.
func (s *Server) Fingerprint() string { return s.cfg.Identity.Fingerprint() }

// Serve accepts connections until ctx is done or Close is called, then
// shuts down like Close. It returns nil after a Close or a cancelled ctx.
func (s *Server) Serve(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := context.AfterFunc(s.ctx, cancel)
	defer stop()
	s.log.Info("listening", "addr", s.Addr(), "root", s.cfg.Root, "fingerprint", s.Fingerprint(),
		"read_only", s.cfg.ReadOnly)
	errc := make(chan error, 2)
	s.wg.Add(2)
	go func() { defer s.wg.Done(); errc <- s.serveTCP(ctx) }()
	go func() { defer s.wg.Done(); errc <- s.serveQUIC(ctx) }()
	if s.cfg.VerifyInterval > 0 && s.cfg.Cache != nil {
		s.wg.Add(1)
		go s.scrubLoop(ctx)
	}
	var first error
	select {
	case first = <-errc:
	case <-ctx.Done():
	}
	s.Close()
	if first == nil {
		first = <-errc
	}
	return first
}

// Close stops listening, tells the clients of running sessions that the
// server is shutting down, and returns once every goroutine serving a
// connection has ended (sessions end within a few seconds: see
// lingerTimeout). Serve then returns.
func (s *Server) Close() error {
	s.stopOnce.Do(func() {
		s.closing.Store(true)
		s.tcpLn.Close()
		s.quicLn.Close() // established connections stay up, to carry the reports
		s.cancel()
		s.wg.Wait()
		s.qtr.Close()
		s.udp.Close()
		s.jail.close()
		close(s.closed)
	})
	<-s.closed
	return nil
}
