package wire

import (
	"errors"
	"fmt"
)

// Sentinel errors. Errors returned by this package wrap one of them (test
// with errors.Is) and name the message type they concern, e.g.
//
//	wire: Data: raw length 99999999 exceeds maximum 67108864
var (
	// ErrTruncated: the payload or the stream ended inside a message.
	ErrTruncated = errors.New("wire: truncated message")
	// ErrTooLarge: a length or count exceeds its declared maximum.
	ErrTooLarge = errors.New("wire: length exceeds maximum")
	// ErrBadMagic: a Hello does not start with Magic.
	ErrBadMagic = errors.New("wire: bad magic")
	// ErrVersion: the peer speaks another protocol version (see CheckHello).
	ErrVersion = errors.New("wire: protocol version mismatch")
	// ErrTrailing: a frame's payload has bytes after its message.
	ErrTrailing = errors.New("wire: trailing bytes after message")
	// ErrInvalid: a field holds a value the protocol does not allow.
	ErrInvalid = errors.New("wire: invalid message")
)

// FormatError describes a malformed or invalid message.
type FormatError struct {
	Type   Type   // message type, 0 when the frame header itself is at fault
	Err    error  // one of the package's sentinel errors
	Detail string // what is wrong, e.g. "payload length 9 exceeds maximum 6"
	// Cause is an underlying error, e.g. io.ErrUnexpectedEOF when the
	// stream ended inside a frame; nil otherwise.
	Cause error
}

func (e *FormatError) Error() string {
	if e.Type == 0 {
		return "wire: frame: " + e.Detail
	}
	return "wire: " + e.Type.String() + ": " + e.Detail
}

// Unwrap returns Err and, when set, Cause.
func (e *FormatError) Unwrap() []error {
	if e.Cause != nil {
		return []error{e.Err, e.Cause}
	}
	return []error{e.Err}
}

func formatErr(t Type, sentinel error, format string, args ...any) *FormatError {
	return &FormatError{Type: t, Err: sentinel, Detail: fmt.Sprintf(format, args...)}
}

func errTruncated(t Type, need, have int) error {
	return formatErr(t, ErrTruncated, "truncated: need %d bytes, have %d", need, have)
}

func errTooLarge(t Type, what string, n, max uint64) error {
	return formatErr(t, ErrTooLarge, "%s %d exceeds maximum %d", what, n, max)
}

func errInvalid(t Type, format string, args ...any) error {
	return formatErr(t, ErrInvalid, format, args...)
}

// UnknownTypeError is returned for a frame whose type this package does not
// know. Reader.ReadMessage has skipped its payload: the caller may ignore
// the error and read on.
type UnknownTypeError struct {
	Type Type
	Len  int // payload length
}

func (e *UnknownTypeError) Error() string {
	return fmt.Sprintf("wire: unknown message type %#02x (%d-byte payload)", uint8(e.Type), e.Len)
}
