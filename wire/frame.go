package wire

import (
	"encoding/binary"
	"io"
	"net"
	"sync"
)

// validator is implemented by every message type of this package.
type validator interface{ Validate() error }

// Decode decodes and validates the payload of a frame of type t. The whole
// payload must be consumed: trailing bytes are an error (ErrTrailing). An
// unknown t yields *UnknownTypeError. The message does not alias payload,
// except the Payload of a *Data or *SubData, which is a subslice of it.
func Decode(t Type, payload []byte) (Message, error) {
	var (
		m   Message
		n   int
		err error
	)
	switch t {
	case TypeHello:
		m, n, err = parseHello(payload)
	case TypeOpen:
		m, n, err = parseOpen(payload)
	case TypeOpenReply:
		m, n, err = parseOpenReply(payload)
	case TypeAttach:
		m, n, err = parseAttach(payload)
	case TypeError:
		m, n, err = parseError(payload)
	case TypeKeepalive:
		m, n, err = parseKeepalive(payload)
	case TypeWeakBatch:
		m, n, err = parseWeakBatch(payload)
	case TypeVerdict:
		m, n, err = parseVerdict(payload)
	case TypeData:
		m, n, err = parseData(payload)
	case TypeStripeEnd:
		m, n, err = parseStripeEnd(payload)
	case TypeFinal:
		m, n, err = parseFinal(payload)
	case TypeFinalAck:
		m, n, err = parseFinalAck(payload)
	case TypeReport:
		m, n, err = parseReport(payload)
	case TypeRefine:
		m, n, err = parseRefine(payload)
	case TypeSubData:
		m, n, err = parseSubData(payload)
	case TypeRollSums:
		m, n, err = parseRollSums(payload)
	case TypeCopyFrom:
		m, n, err = parseCopyFrom(payload)
	case TypeLiteral:
		m, n, err = parseLiteral(payload)
	case TypeRefused:
		m, n, err = parseRefused(payload)
	case TypeRollEnd:
		m, n, err = parseRollEnd(payload)
	case TypeChecksumHeader:
		m, n, err = parseChecksumHeader(payload)
	case TypeHashBatch:
		m, n, err = parseHashBatch(payload)
	case TypeChecksumEnd:
		m, n, err = parseChecksumEnd(payload)
	case TypeRetrieveHeader:
		m, n, err = parseRetrieveHeader(payload)
	case TypeRetrieveEnd:
		m, n, err = parseRetrieveEnd(payload)
	case TypeTreeReq:
		m, n, err = parseTreeReq(payload)
	case TypeTreeReply:
		m, n, err = parseTreeReply(payload)
	case TypeTreeEntries:
		m, n, err = parseTreeEntries(payload)
	case TypeUnasked:
		m, n, err = parseUnasked(payload)
	default:
		return nil, &UnknownTypeError{Type: t, Len: len(payload)}
	}
	if err != nil {
		return nil, err
	}
	if n != len(payload) {
		return nil, formatErr(t, ErrTrailing, "%d trailing bytes", len(payload)-n)
	}
	return m, nil
}

// appendFrameHeader appends the header of a frame with an n-byte payload.
func appendFrameHeader(b []byte, t Type, n int) []byte {
	b = binary.BigEndian.AppendUint32(b, uint32(n))
	return append(b, byte(t))
}

// AppendFrame appends m as a frame (header and payload) to b. It does not
// validate m: WriteFrame does, or call m's Validate method.
func AppendFrame(b []byte, m Message) []byte {
	n := m.Len()
	b = appendFrameHeader(b, m.Type(), n)
	return m.Append(b)
}

const (
	// directWriteMin is the Data payload size from which WriteFrame writes
	// the payload from the caller's slice instead of copying it.
	directWriteMin = 16 << 10
	// maxPooledBuf bounds the encoding buffers WriteFrame keeps for reuse.
	maxPooledBuf = 256 << 10
)

var frameBufs = sync.Pool{New: func() any { b := make([]byte, 0, 512); return &b }}

// WriteFrame validates m and writes it to w as one frame. A large *Data
// payload is not copied: the header and fixed fields go in one buffer, the
// payload is written from d.Payload (as a single writev on a net.Conn).
// WriteFrame may call w.Write more than once, so concurrent writers to the
// same stream must serialize their WriteFrame calls.
func WriteFrame(w io.Writer, m Message) error {
	if v, ok := m.(validator); ok {
		if err := v.Validate(); err != nil {
			return err
		}
	}
	n := m.Len()
	if n > MaxFrameLen {
		return errTooLarge(m.Type(), "payload length", uint64(n), MaxFrameLen)
	}
	bp := frameBufs.Get().(*[]byte)
	defer func() {
		if cap(*bp) <= maxPooledBuf {
			frameBufs.Put(bp)
		}
	}()
	if d, ok := m.(*Data); ok && len(d.Payload) >= directWriteMin {
		*bp = d.appendHeader(appendFrameHeader((*bp)[:0], TypeData, n))
		if _, ok := w.(net.Conn); ok {
			// One writev system call where the connection supports it.
			bufs := net.Buffers{*bp, d.Payload}
			_, err := bufs.WriteTo(w)
			return err
		}
		if _, err := w.Write(*bp); err != nil {
			return err
		}
		_, err := w.Write(d.Payload)
		return err
	}
	*bp = AppendFrame((*bp)[:0], m)
	_, err := w.Write(*bp)
	return err
}
