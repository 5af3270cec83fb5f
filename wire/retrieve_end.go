package wire

import (
	"encoding/binary"
	"slices"
)

// RetrieveEnd layout.
const (
	retrieveEndBlocksOff     = 0
	retrieveEndSentOff       = retrieveEndBlocksOff + sizeU64
	retrieveEndConfirmedOff  = retrieveEndSentOff + sizeU64
	retrieveEndCollisionsOff = retrieveEndConfirmedOff + sizeU64
	retrieveEndBytesOff      = retrieveEndCollisionsOff + sizeU64
	retrieveEndDigestOff     = retrieveEndBytesOff + sizeU64
	retrieveEndLen           = retrieveEndDigestOff + StrongSize
)

func (*RetrieveEnd) Type() Type { return TypeRetrieveEnd }

func (*RetrieveEnd) Len() int { return retrieveEndLen }

func (e *RetrieveEnd) Append(b []byte) []byte {
	b = slices.Grow(b, retrieveEndLen)
	b = binary.BigEndian.AppendUint64(b, e.Blocks)
	b = binary.BigEndian.AppendUint64(b, e.Sent)
	b = binary.BigEndian.AppendUint64(b, e.Confirmed)
	b = binary.BigEndian.AppendUint64(b, e.Collisions)
	b = binary.BigEndian.AppendUint64(b, e.Bytes)
	return append(b, e.Digest[:]...)
}

// Validate checks that Sent and Confirmed add up to Blocks and that
// Collisions <= Sent.
func (e *RetrieveEnd) Validate() error {
	if e.Sent > e.Blocks || e.Blocks-e.Sent != e.Confirmed {
		return errInvalid(TypeRetrieveEnd, "%d blocks sent and %d confirmed of %d", e.Sent, e.Confirmed, e.Blocks)
	}
	if e.Collisions > e.Sent {
		return errInvalid(TypeRetrieveEnd, "%d collisions among %d blocks sent", e.Collisions, e.Sent)
	}
	return nil
}

func parseRetrieveEnd(b []byte) (*RetrieveEnd, int, error) {
	if len(b) < retrieveEndLen {
		return nil, 0, errTruncated(TypeRetrieveEnd, retrieveEndLen, len(b))
	}
	e := &RetrieveEnd{
		Blocks:     binary.BigEndian.Uint64(b[retrieveEndBlocksOff:]),
		Sent:       binary.BigEndian.Uint64(b[retrieveEndSentOff:]),
		Confirmed:  binary.BigEndian.Uint64(b[retrieveEndConfirmedOff:]),
		Collisions: binary.BigEndian.Uint64(b[retrieveEndCollisionsOff:]),
		Bytes:      binary.BigEndian.Uint64(b[retrieveEndBytesOff:]),
	}
	copy(e.Digest[:], b[retrieveEndDigestOff:retrieveEndLen])
	if err := e.Validate(); err != nil {
		return nil, 0, err
	}
	return e, retrieveEndLen, nil
}
