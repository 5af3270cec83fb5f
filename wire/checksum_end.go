package wire

import "encoding/binary"

// ChecksumEnd layout.
const (
	checksumEndBlocksOff = 0
	checksumEndLen       = checksumEndBlocksOff + sizeU64
)

func (*ChecksumEnd) Type() Type { return TypeChecksumEnd }

func (*ChecksumEnd) Len() int { return checksumEndLen }

func (e *ChecksumEnd) Append(b []byte) []byte {
	return binary.BigEndian.AppendUint64(b, e.Blocks)
}

// Validate accepts every ChecksumEnd.
func (e *ChecksumEnd) Validate() error { return nil }

func parseChecksumEnd(b []byte) (*ChecksumEnd, int, error) {
	if len(b) < checksumEndLen {
		return nil, 0, errTruncated(TypeChecksumEnd, checksumEndLen, len(b))
	}
	return &ChecksumEnd{Blocks: binary.BigEndian.Uint64(b[checksumEndBlocksOff:])}, checksumEndLen, nil
}
