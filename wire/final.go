package wire

import "encoding/binary"

// Final layout.
const (
	finalSizeOff    = 0
	finalModTimeOff = finalSizeOff + sizeU64
	finalModeOff    = finalModTimeOff + sizeU64
	finalUidOff     = finalModeOff + sizeU32
	finalGidOff     = finalUidOff + sizeU32
	finalDigestOff  = finalGidOff + sizeU32
	finalLen        = finalDigestOff + DigestSize
)

func (*Final) Type() Type { return TypeFinal }

func (*Final) Len() int { return finalLen }

func (f *Final) Append(b []byte) []byte {
	b = binary.BigEndian.AppendUint64(b, uint64(f.Size))
	b = binary.BigEndian.AppendUint64(b, uint64(f.ModTime))
	b = binary.BigEndian.AppendUint32(b, f.Mode)
	b = binary.BigEndian.AppendUint32(b, f.Uid)
	b = binary.BigEndian.AppendUint32(b, f.Gid)
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
		Uid:     binary.BigEndian.Uint32(b[finalUidOff:]),
		Gid:     binary.BigEndian.Uint32(b[finalGidOff:]),
	}
	copy(f.Digest[:], b[finalDigestOff:finalLen])
	if err := f.Validate(); err != nil {
		return nil, 0, err
	}
	return f, finalLen, nil
}
