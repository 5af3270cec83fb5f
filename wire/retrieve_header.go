package wire

import "encoding/binary"

// RetrieveHeader layout.
const (
	retrieveHeaderSizeOff      = 0
	retrieveHeaderModTimeOff   = retrieveHeaderSizeOff + sizeU64
	retrieveHeaderModeOff      = retrieveHeaderModTimeOff + sizeU64
	retrieveHeaderBlockSizeOff = retrieveHeaderModeOff + sizeU32
	retrieveHeaderStrongOff    = retrieveHeaderBlockSizeOff + sizeU32
	retrieveHeaderStartOff     = retrieveHeaderStrongOff + sizeU8
	retrieveHeaderEndOff       = retrieveHeaderStartOff + sizeU64
	retrieveHeaderLen          = retrieveHeaderEndOff + sizeU64
)

func (*RetrieveHeader) Type() Type { return TypeRetrieveHeader }

func (*RetrieveHeader) Len() int { return retrieveHeaderLen }

func (h *RetrieveHeader) Append(b []byte) []byte {
	b = binary.BigEndian.AppendUint64(b, uint64(h.Size))
	b = binary.BigEndian.AppendUint64(b, uint64(h.ModTime))
	b = binary.BigEndian.AppendUint32(b, h.Mode)
	b = binary.BigEndian.AppendUint32(b, h.BlockSize)
	b = append(b, h.Strong)
	b = binary.BigEndian.AppendUint64(b, uint64(h.Start))
	return binary.BigEndian.AppendUint64(b, uint64(h.End))
}

// Validate checks Size >= 0, a power-of-two BlockSize in [MinBlockSize,
// MaxBlockSize], a non-zero Strong, and a range within the source: Start
// block-aligned and at most Size, End 0 or past Start, at most Size, and
// block-aligned or Size.
func (h *RetrieveHeader) Validate() error {
	if h.Size < 0 {
		return errInvalid(TypeRetrieveHeader, "negative size %d", h.Size)
	}
	if err := checkGrid(TypeRetrieveHeader, h.BlockSize, h.Strong, h.Start, h.End); err != nil {
		return err
	}
	if h.Start > h.Size || h.End > h.Size || (h.End%int64(h.BlockSize) != 0 && h.End != h.Size) {
		return errInvalid(TypeRetrieveHeader, "range [%d, %d) does not fit a %d-byte source in %d-byte blocks", h.Start, h.End, h.Size, h.BlockSize)
	}
	return nil
}

func parseRetrieveHeader(b []byte) (*RetrieveHeader, int, error) {
	if len(b) < retrieveHeaderLen {
		return nil, 0, errTruncated(TypeRetrieveHeader, retrieveHeaderLen, len(b))
	}
	h := &RetrieveHeader{
		Size:      int64(binary.BigEndian.Uint64(b[retrieveHeaderSizeOff:])),
		ModTime:   int64(binary.BigEndian.Uint64(b[retrieveHeaderModTimeOff:])),
		Mode:      binary.BigEndian.Uint32(b[retrieveHeaderModeOff:]),
		BlockSize: binary.BigEndian.Uint32(b[retrieveHeaderBlockSizeOff:]),
		Strong:    b[retrieveHeaderStrongOff],
		Start:     int64(binary.BigEndian.Uint64(b[retrieveHeaderStartOff:])),
		End:       int64(binary.BigEndian.Uint64(b[retrieveHeaderEndOff:])),
	}
	if err := h.Validate(); err != nil {
		return nil, 0, err
	}
	return h, retrieveHeaderLen, nil
}
