package wire

import (
	"encoding/binary"
	"fmt"
	"unicode/utf8"
)

// Error layout: Code u16, then Message (u16 length + bytes).
const (
	errorCodeOff    = 0
	errorMessageOff = errorCodeOff + sizeU16
	errorFixedLen   = errorMessageOff // everything before Message
	errorMaxLen     = errorFixedLen + strLenSize + MaxErrorLen
)

// NewError returns an Error with the given code and message, the message cut
// at a UTF-8 boundary to at most MaxErrorLen bytes.
func NewError(code uint16, msg string) *Error {
	if len(msg) > MaxErrorLen {
		cut := MaxErrorLen
		for cut > 0 && !utf8.RuneStart(msg[cut]) {
			cut--
		}
		msg = msg[:cut]
	}
	return &Error{Code: code, Message: msg}
}

// Error makes *Error an error: "peer: <message> (code N)".
func (e *Error) Error() string {
	return fmt.Sprintf("peer: %s (code %d)", e.Message, e.Code)
}

func (*Error) Type() Type { return TypeError }

func (e *Error) Len() int { return errorFixedLen + strLenSize + len(e.Message) }

func (e *Error) Append(b []byte) []byte {
	b = binary.BigEndian.AppendUint16(b, e.Code)
	return appendString(b, e.Message)
}

// Validate checks Code != 0 and len(Message) <= MaxErrorLen. Codes this
// version does not define are allowed.
func (e *Error) Validate() error {
	switch {
	case e.Code == 0:
		return errInvalid(TypeError, "code 0")
	case len(e.Message) > MaxErrorLen:
		return errTooLarge(TypeError, "message length", uint64(len(e.Message)), MaxErrorLen)
	}
	return nil
}

func parseError(b []byte) (*Error, int, error) {
	if len(b) < errorFixedLen {
		return nil, 0, errTruncated(TypeError, errorFixedLen, len(b))
	}
	msg, n, err := parseString(TypeError, "message", b[errorMessageOff:], MaxErrorLen)
	if err != nil {
		return nil, 0, err
	}
	e := &Error{Code: binary.BigEndian.Uint16(b[errorCodeOff:]), Message: msg}
	if err := e.Validate(); err != nil {
		return nil, 0, err
	}
	return e, errorMessageOff + n, nil
}
