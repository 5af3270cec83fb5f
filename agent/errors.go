package agent

import (
	"context"
	"errors"
	"fmt"

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
