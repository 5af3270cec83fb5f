package wire

import "encoding/binary"

// ChecksumHeader layout.
const (
	checksumHeaderBlockSizeOff = 0
	checksumHeaderStrongOff    = checksumHeaderBlockSizeOff + sizeU32
	checksumHeaderStartOff     = checksumHeaderStrongOff + sizeU8
	checksumHeaderEndOff       = checksumHeaderStartOff + sizeU64
	checksumHeaderSizeOff      = checksumHeaderEndOff + sizeU64
	checksumHeaderLen          = checksumHeaderSizeOff + sizeU64
)

func (*ChecksumHeader) Type() Type { return TypeChecksumHeader }

func (*ChecksumHeader) Len() int { return checksumHeaderLen }

func (h *ChecksumHeader) Append(b []byte) []byte {
	b = binary.BigEndian.AppendUint32(b, h.BlockSize)
	b = append(b, h.Strong)
	b = binary.BigEndian.AppendUint64(b, uint64(h.Start))
	b = binary.BigEndian.AppendUint64(b, uint64(h.End))
	return binary.BigEndian.AppendUint64(b, uint64(h.Size))
}

// Validate checks a power-of-two BlockSize in [MinBlockSize, MaxBlockSize],
// a non-zero Strong, a block-aligned range with End 0 or past Start, and
// Size >= 0.
func (h *ChecksumHeader) Validate() error {
	if err := checkGrid(TypeChecksumHeader, h.BlockSize, h.Strong, h.Start, h.End); err != nil {
		return err
	}
	if h.End%int64(h.BlockSize) != 0 {
		return errInvalid(TypeChecksumHeader, "end %d is not a multiple of the block size %d", h.End, h.BlockSize)
	}
	if h.Size < 0 {
		return errInvalid(TypeChecksumHeader, "negative size %d", h.Size)
	}
	return nil
}

func parseChecksumHeader(b []byte) (*ChecksumHeader, int, error) {
	if len(b) < checksumHeaderLen {
		return nil, 0, errTruncated(TypeChecksumHeader, checksumHeaderLen, len(b))
	}
	h := &ChecksumHeader{
		BlockSize: binary.BigEndian.Uint32(b[checksumHeaderBlockSizeOff:]),
		Strong:    b[checksumHeaderStrongOff],
		Start:     int64(binary.BigEndian.Uint64(b[checksumHeaderStartOff:])),
		End:       int64(binary.BigEndian.Uint64(b[checksumHeaderEndOff:])),
		Size:      int64(binary.BigEndian.Uint64(b[checksumHeaderSizeOff:])),
	}
	if err := h.Validate(); err != nil {
		return nil, 0, err
	}
	return h, checksumHeaderLen, nil
}
