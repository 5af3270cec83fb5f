package wire

import (
	"encoding/binary"
	"slices"
)

// SubData layout: Block u64, Offset u32, then Data's fields from Codec on:
// Codec u8, RawLen u32, payload length u32, payload.
const (
	subDataBlockOff  = 0
	subDataOffsetOff = subDataBlockOff + sizeU64
	subDataDataOff   = subDataOffsetOff + sizeU32 // Codec, RawLen, payload length, as in Data
	subDataHeaderLen = subDataDataOff + DataHeaderLen - dataCodecOff
	subDataMaxLen    = subDataHeaderLen + MaxBlockSize/2
)

func (*SubData) Type() Type { return TypeSubData }

func (d *SubData) Len() int { return subDataHeaderLen + len(d.Payload) }

func (d *SubData) Append(b []byte) []byte {
	b = slices.Grow(b, d.Len())
	b = binary.BigEndian.AppendUint64(b, d.Block)
	b = binary.BigEndian.AppendUint32(b, d.Offset)
	b = append(b, byte(d.Codec))
	b = binary.BigEndian.AppendUint32(b, d.RawLen)
	b = binary.BigEndian.AppendUint32(b, uint32(len(d.Payload)))
	return append(b, d.Payload...)
}

// Validate checks Offset a multiple of MinBlockSize below MaxBlockSize,
// RawLen at most MaxBlockSize/2 and within the largest block, and the
// payload as Data's.
func (d *SubData) Validate() error {
	return checkSubData(d.Offset, d.Codec, d.RawLen, uint64(len(d.Payload)))
}

func checkSubData(off uint32, codec Codec, rawLen uint32, payloadLen uint64) error {
	switch {
	case off%MinBlockSize != 0 || off >= MaxBlockSize:
		return errInvalid(TypeSubData, "offset %d: not a multiple of %d below %d", off, MinBlockSize, MaxBlockSize)
	case rawLen > MaxBlockSize/2:
		return errTooLarge(TypeSubData, "raw length", uint64(rawLen), MaxBlockSize/2)
	case uint64(off)+uint64(rawLen) > MaxBlockSize:
		return errInvalid(TypeSubData, "sub-block %d+%d past the largest block", off, rawLen)
	}
	if err := checkData(codec, rawLen, payloadLen); err != nil {
		if f, ok := err.(*FormatError); ok {
			f.Type = TypeSubData
		}
		return err
	}
	return nil
}

// parseSubDataHeader decodes and validates the fields before the payload:
// b holds at least subDataHeaderLen bytes. It returns d without Payload and
// the payload's length.
func parseSubDataHeader(b []byte) (d *SubData, payloadLen int, err error) {
	h := b[subDataDataOff:]
	d = &SubData{
		Block:  binary.BigEndian.Uint64(b[subDataBlockOff:]),
		Offset: binary.BigEndian.Uint32(b[subDataOffsetOff:]),
		Codec:  Codec(h[0]),
		RawLen: binary.BigEndian.Uint32(h[sizeU8:]),
	}
	n := binary.BigEndian.Uint32(h[sizeU8+sizeU32:])
	if err := checkSubData(d.Offset, d.Codec, d.RawLen, uint64(n)); err != nil {
		return nil, 0, err
	}
	return d, int(n), nil
}

// parseSubData decodes a SubData whose Payload aliases b, as a Data's
// does (a Reader reads it into a buffer of its own).
func parseSubData(b []byte) (*SubData, int, error) {
	if len(b) < subDataHeaderLen {
		return nil, 0, errTruncated(TypeSubData, subDataHeaderLen, len(b))
	}
	d, n, err := parseSubDataHeader(b)
	if err != nil {
		return nil, 0, err
	}
	end := subDataHeaderLen + n
	if len(b) < end {
		return nil, 0, errTruncated(TypeSubData, end, len(b))
	}
	if n > 0 {
		d.Payload = b[subDataHeaderLen:end:end]
	}
	return d, end, nil
}
