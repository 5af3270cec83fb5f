package main

import (
	"context"
	"errors"
	"io/fs"
	"strings"
	"syscall"

	"github.com/pdiffagent/pdiffagent/agent"
	"github.com/pdiffagent/pdiffagent/engine"
	"github.com/pdiffagent/pdiffagent/wire"
)

// Exit codes; see doc.go.
const (
	exitOK         = 0
	exitError      = 1
	exitUsage      = 2
	exitDiffers    = 3
	exitTempFail   = 75 // EX_TEMPFAIL: worth retrying (network, busy, changed)
	exitSignalBase = 128
)

// Error codes: the closed list a script may rely on (the "error_code" of
// --json output, README "Error codes"). A new failure gets one of these;
// a new code is an incompatible change of the contract.
const (
	codeUsage       = "usage"       // bad command line: exit 2
	codeNotFound    = "not_found"   // the source, the target's directory or the remote file is missing
	codeRefused     = "refused"     // permission, allow list, pin, read-only server, a path or file type refused
	codeBusy        = "busy"        // the server is at its session limit or the file is in another transfer: retry
	codeChanged     = "changed"     // the source changed during the sync: retry
	codeIO          = "io"          // a read or write failed on either side
	codeNoSpace     = "no_space"    // a filesystem on either side is full (or the server's reserve is reached)
	codeNetwork     = "network"     // connection refused, reset, cut, or the peer silent past --idle-timeout: retry
	codeProtocol    = "protocol"    // the peer broke the protocol or sent a request it may not
	codeVersion     = "version"     // the peer speaks another protocol version
	codeVerify      = "verify"      // the end-to-end digest did not match
	codeInterrupted = "interrupted" // SIGINT or SIGTERM: exit 128+signal
	codeError       = "error"       // anything else
)

// errorCode classifies the outcome of a command: "" for success (and for a
// dry run that found differences, which is a result, not an error). It and
// exitCode are the only places that map errors.
func errorCode(ctx context.Context, err error) string {
	var (
		sig   *signalError
		usage *usageError
		pe    *engine.PeerError
	)
	switch {
	case err == nil, errors.Is(err, errDiffers) && ctx.Err() == nil:
		return ""
	case errors.As(context.Cause(ctx), &sig), errors.Is(err, context.Canceled):
		return codeInterrupted
	case errors.As(err, &usage):
		return codeUsage
	case errors.Is(err, wire.ErrVersion):
		return codeVersion
	case errors.As(err, &pe):
		return peerErrorCode(pe)
	case errors.Is(err, engine.ErrSourceChanged):
		return codeChanged
	case errors.Is(err, engine.ErrVerify):
		return codeVerify
	case errors.Is(err, syscall.ENOSPC), errors.Is(err, syscall.EDQUOT):
		return codeNoSpace
	case errors.Is(err, fs.ErrNotExist):
		return codeNotFound
	case errors.Is(err, fs.ErrPermission), errors.Is(err, agent.ErrNotAllowed), errors.Is(err, agent.ErrPinMismatch),
		errors.Is(err, agent.ErrSelf):
		return codeRefused
	case errors.Is(err, engine.ErrProtocol):
		return codeProtocol
	case agent.IsNetwork(err):
		return codeNetwork
	case errors.Is(err, syscall.EIO), errors.As(err, new(*fs.PathError)):
		return codeIO
	}
	return codeError
}

// peerErrorCode classifies the failure the peer reported. The peer says
// "no space" only in its message (wire.CodeIO).
func peerErrorCode(pe *engine.PeerError) string {
	switch pe.Code {
	case wire.CodeNotFound:
		return codeNotFound
	case wire.CodeDenied:
		return codeRefused
	case wire.CodeBusy:
		return codeBusy
	case wire.CodeChanged:
		return codeChanged
	case wire.CodeBadRequest:
		if strings.Contains(pe.Message, "protocol version") {
			return codeVersion
		}
		return codeProtocol
	case wire.CodeVerify:
		return codeVerify
	case wire.CodeCanceled:
		return codeInterrupted
	case wire.CodeIO:
		if strings.Contains(pe.Message, "no space left") || strings.Contains(pe.Message, "not enough space") {
			return codeNoSpace
		}
		return codeIO
	}
	return codeError
}

// retryable reports whether a failure of this code may go away by itself:
// exit status 75, and what --retries retries.
func retryable(code string) bool {
	return code == codeNetwork || code == codeBusy || code == codeChanged
}

// exitCode maps the outcome of a command to the process's exit status. It
// is the only place that does, from errorCode.
func exitCode(ctx context.Context, err error) int {
	var sig *signalError
	switch code := errorCode(ctx, err); {
	case err == nil:
		return exitOK
	case errors.As(context.Cause(ctx), &sig):
		return exitSignalBase + int(sig.sig)
	case code == "":
		return exitDiffers
	case code == codeUsage:
		return exitUsage
	case retryable(code):
		return exitTempFail
	}
	return exitError
}
