package agent

import (
	"net"
	"sync"
	"time"
)

// Connections that have not authenticated yet cost a descriptor each and
// nothing else: a crowd of them must not take the descriptors that
// authenticated sessions need. The server bounds the TLS handshakes in
// progress over TCP, in total (ServerConfig.MaxHandshakes: by default a
// quarter of the descriptor limit, leaving the rest to sessions) and per
// source address (MaxHandshakesPerAddr). A connection from an address at
// its own cap is closed at once; when the total is reached, the oldest
// pending handshake of the address holding the most is closed to make room,
// so that a crowd from a few addresses cannot keep a new address out.
// (QUIC handshakes are bounded by quic-go, over one socket.)

// Handshake caps' defaults and bounds.
const (
	DefaultMaxHandshakesPerAddr = 64
	minHandshakes               = 64
	maxHandshakes               = 1024
)

// defaultMaxHandshakes is a quarter of the descriptor limit, within bounds.
func defaultMaxHandshakes() int {
	n := fdLimit() / 4
	if n <= 0 {
		return maxHandshakes
	}
	return min(max(n, minHandshakes), maxHandshakes)
}

// handshakeGate tracks pending handshakes by source address.
type handshakeGate struct {
	mu      sync.Mutex
	max     int
	perAddr int
	total   int
	byAddr  map[string][]*pendingHandshake // oldest first
}

type pendingHandshake struct {
	addr  string
	conn  net.Conn
	start time.Time
}

func newHandshakeGate(max, perAddr int) *handshakeGate {
	return &handshakeGate{max: max, perAddr: perAddr, byAddr: make(map[string][]*pendingHandshake)}
}

// admit registers c's handshake, or refuses it (false: the caller closes
// c). It may close another pending handshake to make room.
func (g *handshakeGate) admit(c net.Conn) (*pendingHandshake, bool) {
	addr := hostOf(c.RemoteAddr())
	g.mu.Lock()
	defer g.mu.Unlock()
	if len(g.byAddr[addr]) >= g.perAddr {
		return nil, false
	}
	if g.total >= g.max {
		victim := ""
		for a, l := range g.byAddr {
			if victim == "" || len(l) > len(g.byAddr[victim]) {
				victim = a
			}
		}
		if victim == "" || victim == addr {
			return nil, false
		}
		old := g.byAddr[victim][0]
		g.removeLocked(old)
		old.conn.Close() // its handshake fails; its goroutine calls done, a no-op
	}
	p := &pendingHandshake{addr: addr, conn: c, start: time.Now()}
	g.byAddr[addr] = append(g.byAddr[addr], p)
	g.total++
	return p, true
}

// done ends p's handshake (whatever its outcome).
func (g *handshakeGate) done(p *pendingHandshake) {
	g.mu.Lock()
	g.removeLocked(p)
	g.mu.Unlock()
}

func (g *handshakeGate) removeLocked(p *pendingHandshake) {
	l := g.byAddr[p.addr]
	for i, q := range l {
		if q == p {
			l = append(l[:i:i], l[i+1:]...)
			g.total--
			if len(l) == 0 {
				delete(g.byAddr, p.addr)
			} else {
				g.byAddr[p.addr] = l
			}
			return
		}
	}
}

// pending is the number of handshakes in progress.
func (g *handshakeGate) pending() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.total
}

func hostOf(a net.Addr) string {
	if ta, ok := a.(*net.TCPAddr); ok {
		return ta.IP.String()
	}
	host, _, err := net.SplitHostPort(a.String())
	if err != nil {
		return a.String()
	}
	return host
}
