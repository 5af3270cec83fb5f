//go:build !linux

package agent

import (
	"errors"
	"net"
	"syscall"
	"time"
)

// setUserTimeout is a no-op where TCP_USER_TIMEOUT does not exist;
// keepalives still detect a dead peer.
func setUserTimeout(c *net.TCPConn, d time.Duration) {}

// isTemporary reports accept errors worth retrying.
func isTemporary(err error) bool {
	return errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE) || errors.Is(err, syscall.ECONNABORTED)
}

// fdLimit is unknown here.
func fdLimit() int { return 0 }
