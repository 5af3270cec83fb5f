package agent

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/hashicorp/yamux"
)

// TransportSSH names sessions carried by a tunnel: one byte pipe (ssh's
// stdin and stdout to `pdiffagent serve --stdio` on the far side) with the
// workers' streams multiplexed over it by yamux, each with its own flow
// control window, so a worker that waits does not stall the others.
const TransportSSH = "ssh"

// yamuxConfig is both ends' multiplexer configuration: a window of 16 MiB
// per stream (several blocks in flight per worker over a long link), the
// keepalive off (the session watchdog and ssh's own keepalives watch the
// peer), and logging into the void (errors come back as errors).
func yamuxConfig() *yamux.Config {
	c := yamux.DefaultConfig()
	c.MaxStreamWindowSize = 16 << 20
	c.EnableKeepAlive = false
	c.ConnectionWriteTimeout = time.Minute
	c.LogOutput = io.Discard
	c.AcceptBacklog = 1024
	return c
}

// tunnelStream is a byteStream over one yamux stream.
type tunnelStream struct{ s *yamux.Stream }

func (t *tunnelStream) Read(p []byte) (int, error)        { return t.s.Read(p) }
func (t *tunnelStream) Write(p []byte) (int, error)       { return t.s.Write(p) }
func (t *tunnelStream) SetReadDeadline(d time.Time) error { return t.s.SetReadDeadline(d) }

// closeWrite sends FIN: a yamux stream closes one direction at a time.
func (t *tunnelStream) closeWrite() error { return t.s.Close() }

func (t *tunnelStream) abort() {
	t.s.SetDeadline(time.Now())
	t.s.Close()
}

func (t *tunnelStream) release(linger time.Duration) {
	t.s.Close()
	t.s.SetReadDeadline(time.Now().Add(linger))
	io.Copy(io.Discard, t.s)
}

// ServeTunnel serves the sessions a client opens over conn (serve
// --stdio: ssh's pipe), under cfg's policy (root, read-only, devices, hard
// links, owner, limits), until the client ends the pipe or ctx ends. ssh
// authenticated the client, so cfg needs no identity and no allow list:
// the client is named client in the log.
//
// joins, when not nil, brings more pipes from the same client (the stdin
// and stdout of further ssh sessions, --ssh-connections): each is a yamux
// session of its own whose streams join the sessions opened over conn.
// They are served until conn ends, then closed. The caller keeps joins
// open; a pipe it sends after ServeTunnel returned is its own to close.
func ServeTunnel(ctx context.Context, cfg ServerConfig, conn io.ReadWriteCloser, client string, joins <-chan io.ReadWriteCloser) error {
	s, err := newServer(ctx, cfg, true)
	if err != nil {
		return err
	}
	defer s.jail.close()
	ctx, cancel := context.WithCancel(ctx)
	peer := peerIdentity{fp: client, addr: "ssh", readOnly: cfg.ReadOnly}
	s.log.Info("serving over a tunnel", "client", client, "root", s.cfg.Root, "read_only", s.cfg.ReadOnly)
	// loops counts the joined pipes' accept loops and the goroutine that
	// starts them, so that none adds to s.wg once it is waited for.
	var loops sync.WaitGroup
	loops.Add(1)
	go func() {
		defer loops.Done()
		for {
			select {
			case <-ctx.Done():
				return
			case j := <-joins:
				loops.Add(1)
				go func() {
					defer loops.Done()
					if err := s.serveMux(ctx, j, peer); err != nil {
						s.log.Warn("joined tunnel failed", "client", client, "err", err)
					}
				}()
			}
		}
	}()
	err = s.serveMux(ctx, conn, peer)
	cancel()
	loops.Wait()
	s.cancel()
	s.wg.Wait()
	return err
}

// serveMux accepts the streams of a yamux session over conn until the
// client ends it or ctx ends, and closes conn.
func (s *Server) serveMux(ctx context.Context, conn io.ReadWriteCloser, peer peerIdentity) error {
	mux, err := yamux.Server(conn, yamuxConfig())
	if err != nil {
		conn.Close()
		return err
	}
	stop := context.AfterFunc(ctx, func() { mux.Close() })
	defer func() {
		stop()
		mux.Close()
	}()
	for {
		st, err := mux.AcceptStream()
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, yamux.ErrSessionShutdown) || errors.Is(err, io.EOF) {
				return nil
			}
			return fmt.Errorf("agent: tunnel: %w", err)
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.handleStream(ctx, &tunnelStream{st}, peer, TransportSSH)
		}()
	}
}

// openTunnelStream opens worker w's stream over the client's tunnels:
// pipe w mod (1 + len(Tunnels)), its multiplexer started on first use.
func (c *clientConn) openTunnelStream(ctx context.Context, w int) (byteStream, error) {
	c.mu.Lock()
	if c.muxes == nil {
		c.muxes = make([]*yamux.Session, 1+len(c.cfg.Tunnels))
	}
	i := w % len(c.muxes)
	if c.muxes[i] == nil {
		pipe := c.cfg.Tunnel
		if i > 0 {
			pipe = c.cfg.Tunnels[i-1]
		}
		m, err := yamux.Client(pipe, yamuxConfig())
		if err != nil {
			c.mu.Unlock()
			return nil, err
		}
		c.muxes[i] = m
	}
	m := c.muxes[i]
	c.mu.Unlock()
	st, err := m.OpenStream()
	if err != nil {
		return nil, fmt.Errorf("tunnel stream: %w", err)
	}
	return &tunnelStream{st}, nil
}
