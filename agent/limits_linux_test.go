//go:build linux

package agent

import (
	"context"
	"os"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// TestTCPSocketTimeouts: a dead TCP peer cannot be simulated on loopback,
// so check what detects one: every connection the server accepted has
// keepalives and TCP_USER_TIMEOUT set from IdleTimeout.
func TestTCPSocketTimeouts(t *testing.T) {
	checkGoroutines(t)
	const idleSec = 40
	ts := startServer(t, func(c *ServerConfig) { c.IdleTimeout = idleSec * 1e9 })
	g := newGate(2)
	done := held(t, context.Background(), ts, TransportTCP, "f", randomBytes(84, 16*testBlock), g)
	defer func() { close(g.open); <-done }()

	port := ts.Addr()[strings.LastIndexByte(ts.Addr(), ':')+1:]
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skip(err)
	}
	found := 0
	for _, e := range ents {
		fd, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if l, _ := os.Readlink("/proc/self/fd/" + e.Name()); !strings.HasPrefix(l, "socket:") {
			continue
		}
		local, err1 := unix.Getsockname(fd)
		_, err2 := unix.Getpeername(fd) // fails on the listener
		la, ok := local.(*unix.SockaddrInet4)
		if err1 != nil || err2 != nil || !ok || strconv.Itoa(la.Port) != port {
			continue
		}
		if typ, _ := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_TYPE); typ != unix.SOCK_STREAM {
			continue
		}
		found++
		opt := func(level, name int) int {
			v, err := unix.GetsockoptInt(fd, level, name)
			if err != nil {
				t.Fatal(err)
			}
			return v
		}
		if v := opt(unix.IPPROTO_TCP, unix.TCP_USER_TIMEOUT); v != idleSec*1000 {
			t.Errorf("fd %d: TCP_USER_TIMEOUT %d ms, want %d", fd, v, idleSec*1000)
		}
		if v := opt(unix.SOL_SOCKET, unix.SO_KEEPALIVE); v != 1 {
			t.Errorf("fd %d: keepalive off", fd)
		}
		if v := opt(unix.IPPROTO_TCP, unix.TCP_KEEPIDLE); v != idleSec/4 {
			t.Errorf("fd %d: TCP_KEEPIDLE %d s, want %d", fd, v, idleSec/4)
		}
		if v := opt(unix.IPPROTO_TCP, unix.TCP_KEEPCNT); v != 3 {
			t.Errorf("fd %d: TCP_KEEPCNT %d, want 3", fd, v)
		}
	}
	if found != 2 { // the session's two worker connections
		t.Errorf("found %d server-side connections, want 2", found)
	}
}
