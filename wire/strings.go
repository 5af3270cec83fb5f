package wire

import "encoding/binary"

// appendString appends s as a u16 byte count followed by its bytes. The
// caller has checked len(s) against the field's maximum (Validate).
func appendString(b []byte, s string) []byte {
	b = binary.BigEndian.AppendUint16(b, uint16(len(s)))
	return append(b, s...)
}

// parseString reads a string of at most max bytes from the start of b and
// returns it with the number of bytes consumed. what names the field in errors.
func parseString(t Type, what string, b []byte, max int) (string, int, error) {
	if len(b) < strLenSize {
		return "", 0, errTruncated(t, strLenSize, len(b))
	}
	n := int(binary.BigEndian.Uint16(b))
	if n > max {
		return "", 0, errTooLarge(t, what+" length", uint64(n), uint64(max))
	}
	end := strLenSize + n
	if len(b) < end {
		return "", 0, errTruncated(t, end, len(b))
	}
	return string(b[strLenSize:end]), end, nil
}
