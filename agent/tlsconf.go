package agent

import (
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"strings"
)

// alpn is the application protocol both transports negotiate.
const alpn = "pdiffagent/1"

// clientTLSConfig pins the server: chain verification is off because every
// certificate is self-signed; VerifyConnection checks the fingerprint
// instead (it also runs on resumed sessions).
func clientTLSConfig(id *Identity, pin string, verified func()) *tls.Config {
	return &tls.Config{
		MinVersion:         tls.VersionTLS13,
		Certificates:       []tls.Certificate{id.cert},
		InsecureSkipVerify: true, // the pin is checked in VerifyConnection
		VerifyConnection:   verifyServer(id.fp, pin, verified),
		NextProtos:         []string{alpn},
		ServerName:         "pdiffagent",
	}
}

// serverTLSConfig asks every client for its certificate and checks it
// against allow() (the list in force) in VerifyConnection. A config is made
// per connection so that the refusal can be logged with the peer's address,
// at the rate limit's pace.
func serverTLSConfig(id *Identity, allow func() allowList, log *slog.Logger, limit *logLimiter) *tls.Config {
	base := &tls.Config{
		MinVersion:             tls.VersionTLS13,
		Certificates:           []tls.Certificate{id.cert},
		ClientAuth:             tls.RequestClientCert, // VerifyConnection refuses, and logs, a client without one
		NextProtos:             []string{alpn},
		SessionTicketsDisabled: true,
	}
	perConn := base.Clone()
	base.GetConfigForClient = func(hi *tls.ClientHelloInfo) (*tls.Config, error) {
		addr := "unknown address"
		if hi.Conn != nil && hi.Conn.RemoteAddr() != nil {
			addr = hi.Conn.RemoteAddr().String()
		}
		c := perConn.Clone()
		if bc, ok := hi.Conn.(*batchConn); ok {
			c.KeyLogWriter = &bc.keys // tlsrec.go
		}
		c.VerifyConnection = func(cs tls.ConnectionState) error {
			fp, err := allow().verifyClient(id.fp, cs)
			if err != nil {
				if fp == "" {
					fp = "(no certificate)"
				}
				if ok, n := limit.allow(); ok {
					args := []any{"client", fp, "addr", addr}
					if n > 0 {
						args = append(args, "suppressed", n)
					}
					log.Warn(fmt.Sprintf("refused client %s from %s: %s", fp, addr, strings.TrimPrefix(err.Error(), "agent: ")), args...)
				}
			}
			return err
		}
		return c, nil
	}
	return base
}

// peerIdentity is what the server knows of an authenticated client.
type peerIdentity struct {
	fp       string
	addr     string
	readOnly bool
}

func newPeerIdentity(allow allowList, cs tls.ConnectionState, addr net.Addr) (peerIdentity, error) {
	fp, err := peerFingerprint(cs)
	if err != nil {
		return peerIdentity{}, err
	}
	ro, ok := allow[fp]
	if !ok { // VerifyConnection already refused it; belt and braces
		return peerIdentity{}, ErrNotAllowed
	}
	return peerIdentity{fp: fp, addr: addr.String(), readOnly: ro}, nil
}
