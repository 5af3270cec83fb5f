package wire

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// readerBufSize is the bufio buffer of a Reader. Payloads at least this
// large are read straight into their destination.
const readerBufSize = 32 << 10

// Reader reads frames from a stream and decodes them.
//
// Every length is checked before a buffer is allocated: the frame length
// against MaxFrameLen and the type's largest valid payload, Data's fields
// against the block size limit (SetMaxBlockSize). Messages are fully
// validated, and are the caller's: nothing returned aliases the Reader's
// buffers. An error other than *UnknownTypeError is final: the stream can no
// longer be trusted and every later call returns the same error.
type Reader struct {
	br       *bufio.Reader
	hdr      [FrameHeaderLen + subDataHeaderLen]byte // room for Data's fields or SubData's
	buf      []byte                                  // payloads other than Data, reused
	maxBlock uint32
	alloc    func(n int) []byte
	err      error
}

// NewReader returns a Reader that reads frames from r through a buffer.
func NewReader(r io.Reader) *Reader {
	return &Reader{br: bufio.NewReaderSize(r, readerBufSize), maxBlock: MaxBlockSize}
}

// SetMaxBlockSize lowers the largest Data RawLen (and so payload) accepted,
// for instance to the session's block size once Open is known. Larger Data
// frames are rejected before their payload is allocated. n outside
// [1, MaxBlockSize] restores MaxBlockSize.
func (r *Reader) SetMaxBlockSize(n int) {
	if n < 1 || n > MaxBlockSize {
		n = MaxBlockSize
	}
	r.maxBlock = uint32(n)
}

// SetAlloc makes the Reader take each Data payload buffer from alloc (e.g.
// a pool) instead of make. alloc(n) must return a slice with capacity at
// least n, which the Reader fills and hands to the caller as Payload. nil
// restores make.
func (r *Reader) SetAlloc(alloc func(n int) []byte) { r.alloc = alloc }

// ReadMessage reads the next frame and returns its message as a pointer
// (*Hello, *Data, ...). At the end of the stream between frames it returns
// io.EOF; a stream that ends inside a frame gives an error wrapping
// ErrTruncated and io.ErrUnexpectedEOF. A frame of unknown type is skipped
// and reported as *UnknownTypeError; the caller may read on.
func (r *Reader) ReadMessage() (Message, error) {
	if r.err != nil {
		return nil, r.err
	}
	m, err := r.readMessage()
	if err != nil {
		var unknown *UnknownTypeError
		if !errors.As(err, &unknown) {
			r.err = err
		}
		return nil, err
	}
	return m, nil
}

func (r *Reader) readMessage() (Message, error) {
	hdr := r.hdr[:FrameHeaderLen]
	if got, err := io.ReadFull(r.br, hdr); err != nil {
		if err == io.EOF {
			return nil, io.EOF
		}
		return nil, readErr(0, err, FrameHeaderLen, got)
	}
	n := binary.BigEndian.Uint32(hdr[frameLenOff:])
	t := Type(hdr[frameTypeOff])
	if n > MaxFrameLen {
		return nil, errTooLarge(t, "frame length", uint64(n), MaxFrameLen)
	}
	max, known := maxPayloadLen(t)
	if !known {
		if got, err := r.br.Discard(int(n)); err != nil {
			return nil, readErr(t, err, int(n), got)
		}
		return nil, &UnknownTypeError{Type: t, Len: int(n)}
	}
	if t == TypeData {
		return r.readData(int(n))
	}
	if t == TypeSubData {
		return r.readSubData(int(n))
	}
	if uint64(n) > uint64(max) {
		return nil, errTooLarge(t, "payload length", uint64(n), uint64(max))
	}
	if cap(r.buf) < int(n) {
		r.buf = make([]byte, n)
	}
	b := r.buf[:n]
	if got, err := io.ReadFull(r.br, b); err != nil {
		return nil, readErr(t, err, int(n), got)
	}
	return Decode(t, b)
}

// readData reads a Data frame whose payload is n bytes: its fixed fields
// first, which are validated, then the block into a fresh buffer.
func (r *Reader) readData(n int) (Message, error) {
	if n < DataHeaderLen {
		return nil, errTruncated(TypeData, DataHeaderLen, n)
	}
	if limit := DataHeaderLen + int(r.maxBlock); n > limit {
		return nil, errTooLarge(TypeData, "payload length", uint64(n), uint64(limit))
	}
	h := r.hdr[FrameHeaderLen : FrameHeaderLen+DataHeaderLen]
	if got, err := io.ReadFull(r.br, h); err != nil {
		return nil, readErr(TypeData, err, n, got)
	}
	d, plen, err := parseDataHeader(h)
	if err != nil {
		return nil, err
	}
	if d.RawLen > r.maxBlock {
		return nil, errTooLarge(TypeData, "raw length", uint64(d.RawLen), uint64(r.maxBlock))
	}
	switch end := DataHeaderLen + plen; {
	case end > n:
		return nil, errTruncated(TypeData, end, n)
	case end < n:
		return nil, formatErr(TypeData, ErrTrailing, "%d trailing bytes", n-end)
	}
	var p []byte
	if plen == 0 { // a zero block: Payload stays nil
		return d, nil
	}
	if r.alloc != nil {
		p = r.alloc(plen)[:plen]
	} else {
		p = make([]byte, plen)
	}
	if got, err := io.ReadFull(r.br, p); err != nil {
		return nil, readErr(TypeData, err, n, DataHeaderLen+got)
	}
	d.Payload = p
	return d, nil
}

// readSubData reads a SubData frame whose payload is n bytes as readData
// reads a Data: its fields first, then the sub-block (smaller than half
// the session's block) into a fresh buffer.
func (r *Reader) readSubData(n int) (Message, error) {
	if n < subDataHeaderLen {
		return nil, errTruncated(TypeSubData, subDataHeaderLen, n)
	}
	if limit := subDataHeaderLen + int(r.maxBlock)/2; n > limit {
		return nil, errTooLarge(TypeSubData, "payload length", uint64(n), uint64(limit))
	}
	h := r.hdr[FrameHeaderLen : FrameHeaderLen+subDataHeaderLen]
	if got, err := io.ReadFull(r.br, h); err != nil {
		return nil, readErr(TypeSubData, err, n, got)
	}
	d, plen, err := parseSubDataHeader(h)
	if err != nil {
		return nil, err
	}
	switch end := subDataHeaderLen + plen; {
	case end > n:
		return nil, errTruncated(TypeSubData, end, n)
	case end < n:
		return nil, formatErr(TypeSubData, ErrTrailing, "%d trailing bytes", n-end)
	}
	if plen == 0 {
		return d, nil
	}
	var p []byte
	if r.alloc != nil {
		p = r.alloc(plen)[:plen]
	} else {
		p = make([]byte, plen)
	}
	if got, err := io.ReadFull(r.br, p); err != nil {
		return nil, readErr(TypeSubData, err, n, subDataHeaderLen+got)
	}
	d.Payload = p
	return d, nil
}

// readErr reports a failed read of a frame of type t (0: the header) after
// got of need bytes.
func readErr(t Type, err error, need, got int) error {
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		return &FormatError{
			Type:   t,
			Err:    ErrTruncated,
			Detail: fmt.Sprintf("stream ended after %d of %d bytes", got, need),
			Cause:  io.ErrUnexpectedEOF,
		}
	}
	if t == 0 {
		return fmt.Errorf("wire: reading frame header: %w", err)
	}
	return fmt.Errorf("wire: reading %v frame: %w", t, err)
}
