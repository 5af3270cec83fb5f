package agent

import (
	"context"
	"errors"
	"fmt"
	"net"
	"syscall"

	"github.com/quic-go/quic-go"

	"github.com/pdiffagent/pdiffagent/engine"
	"github.com/pdiffagent/pdiffagent/wire"
)

// codeError is a failure the server reports to its client with a wire code.
// Its message never names the server's root.
type codeError struct {
	code uint16
	msg  string
}

func (e *codeError) Error() string { return e.msg }

// WireCode is the code the engine reports e with when e ends a session.
func (e *codeError) WireCode() uint16 { return e.code }

func codeErrorf(code uint16, format string, args ...any) error {
	return &codeError{code: code, msg: fmt.Sprintf(format, args...)}
}

// toWireError turns err into the frame sent to the peer.
func toWireError(err error) *wire.Error {
	var ce *codeError
	var pe *engine.PeerError
	switch {
	case errors.As(err, &ce):
		return wire.NewError(ce.code, ce.msg)
	case errors.As(err, &pe):
		return wire.NewError(pe.Code, pe.Message)
	case errors.Is(err, context.Canceled):
		return wire.NewError(wire.CodeCanceled, err.Error())
	}
	return wire.NewError(wire.CodeInternal, err.Error())
}

// peerError turns an Error frame received from the peer into an error.
func peerError(e *wire.Error) error {
	return &engine.PeerError{Code: e.Code, Message: e.Message}
}

// IsNetwork reports whether err says the network failed rather than either
// side: a connection refused, reset or cut short, a QUIC connection lost, a
// peer silent past the idle timeout. Such a failure is worth retrying.
func IsNetwork(err error) bool {
	var (
		ne      net.Error
		timeout interface{ Timeout() bool }
		qa      *quic.ApplicationError
		qt      *quic.TransportError
		qr      *quic.StatelessResetError
		qv      *quic.VersionNegotiationError
	)
	switch {
	case err == nil:
		return false
	case brokenStream(err), errors.As(err, &ne), errors.As(err, &qa), errors.As(err, &qt),
		errors.As(err, &qr), errors.As(err, &qv):
		return true
	case errors.As(err, &timeout) && timeout.Timeout():
		return true
	}
	for _, e := range []syscall.Errno{syscall.ECONNREFUSED, syscall.ENETUNREACH, syscall.EHOSTUNREACH,
		syscall.ETIMEDOUT, syscall.ENETDOWN, syscall.EHOSTDOWN} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// refusedError is a TLS handshake the server ended because it does not
// allow this client: errors.Is(err, ErrNotAllowed) holds.
type refusedError struct{ err error }

func (e *refusedError) Error() string        { return e.err.Error() }
func (e *refusedError) Unwrap() error        { return e.err }
func (e *refusedError) Is(target error) bool { return target == ErrNotAllowed }
