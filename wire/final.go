package wire

import "encoding/binary"

// Final layout.
const (
	finalSizeOff    = 0
	finalModTimeOff = finalSizeOff + sizeU64
	finalModeOff    = finalModTimeOff + sizeU64
	finalDigestOff  = finalModeOff + sizeU32
	finalLen        = finalDigestOff + DigestSize
)

func (*Final) Type() Type { return TypeFinal }

func (*Final) Len() int { return finalLen }

func (f *Final) Append(b []byte) []byte {
	b = binary.BigEndian.AppendUint64(b, uint64(f.Size))
	b = binary.BigEndian.AppendUint64(b, uint64(f.ModTime))
	b = binary.BigEndian.AppendUint32(b, f.Mode)
	return append(b, f.Digest[:]...)
}

// Validate checks Size >= 0.
func (f *Final) Validate() error {
	if f.Size < 0 {
		return errInvalid(TypeFinal, "negative size %d", f.Size)
	}
	return nil
}

func parseFinal(b []byte) (*Final, int, error) {
	if len(b) < finalLen {
		return nil, 0, errTruncated(TypeFinal, finalLen, len(b))
	}
	f := &Final{
		Size:    int64(binary.BigEndian.Uint64(b[finalSizeOff:])),
		ModTime: int64(binary.BigEndian.Uint64(b[finalModTimeOff:])),
		Mode:    binary.BigEndian.Uint32(b[finalModeOff:]),
	}
	copy(f.Digest[:], b[finalDigestOff:finalLen])
	if err := f.Validate(); err != nil {
		return nil, 0, err
	}
	return f, finalLen, nil
}
