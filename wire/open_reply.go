package wire

import "encoding/binary"

// OpenReply layout.
const (
	openReplySizeOff    = 0
	openReplyModTimeOff = openReplySizeOff + sizeU64
	openReplyModeOff    = openReplyModTimeOff + sizeU64
	openReplyWorkersOff = openReplyModeOff + sizeU32
	openReplyLen        = openReplyWorkersOff + sizeU16
)

func (*OpenReply) Type() Type { return TypeOpenReply }

func (r *OpenReply) Len() int {
	if r.RecordDigest != ([DigestSize]byte{}) {
		return openReplyLen + DigestSize
	}
	return openReplyLen
}

func (r *OpenReply) Append(b []byte) []byte {
	b = binary.BigEndian.AppendUint64(b, uint64(r.Size))
	b = binary.BigEndian.AppendUint64(b, uint64(r.ModTime))
	b = binary.BigEndian.AppendUint32(b, r.Mode)
	b = binary.BigEndian.AppendUint16(b, r.Workers)
	if r.RecordDigest != ([DigestSize]byte{}) {
		b = append(b, r.RecordDigest[:]...)
	}
	return b
}

// Validate checks Size >= 0 and 1 <= Workers <= MaxWorkers (a server that
// accepts no worker answers with an Error instead).
func (r *OpenReply) Validate() error {
	switch {
	case r.Size < 0:
		return errInvalid(TypeOpenReply, "negative size %d", r.Size)
	case r.Workers < 1 || r.Workers > MaxWorkers:
		return errInvalid(TypeOpenReply, "workers %d outside [1, %d]", r.Workers, MaxWorkers)
	}
	return nil
}

func parseOpenReply(b []byte) (*OpenReply, int, error) {
	if len(b) < openReplyLen {
		return nil, 0, errTruncated(TypeOpenReply, openReplyLen, len(b))
	}
	r := &OpenReply{
		Size:    int64(binary.BigEndian.Uint64(b[openReplySizeOff:])),
		ModTime: int64(binary.BigEndian.Uint64(b[openReplyModTimeOff:])),
		Mode:    binary.BigEndian.Uint32(b[openReplyModeOff:]),
		Workers: binary.BigEndian.Uint16(b[openReplyWorkersOff:]),
	}
	n := openReplyLen
	if len(b) >= openReplyLen+DigestSize { // optional: a zero digest is not sent
		copy(r.RecordDigest[:], b[openReplyLen:])
		if r.RecordDigest == ([DigestSize]byte{}) {
			return nil, 0, errInvalid(TypeOpenReply, "zero record digest")
		}
		n += DigestSize
	}
	if err := r.Validate(); err != nil {
		return nil, 0, err
	}
	return r, n, nil
}
