package wire

import (
	"encoding/binary"
	"slices"
)

// Data layout: Block u64, Codec u8, RawLen u32, payload length u32, payload.
const (
	dataBlockOff      = 0
	dataCodecOff      = dataBlockOff + sizeU64
	dataRawLenOff     = dataCodecOff + sizeU8
	dataPayloadLenOff = dataRawLenOff + sizeU32
	dataPayloadOff    = dataPayloadLenOff + sizeU32

	// DataHeaderLen is the size of Data's fields before its payload.
	DataHeaderLen = dataPayloadOff
	dataMaxLen    = DataHeaderLen + MaxBlockSize
)

func (*Data) Type() Type { return TypeData }

func (d *Data) Len() int { return DataHeaderLen + len(d.Payload) }

func (d *Data) Append(b []byte) []byte {
	b = slices.Grow(b, d.Len())
	b = d.appendHeader(b)
	return append(b, d.Payload...)
}

// appendHeader appends the fields before the payload.
func (d *Data) appendHeader(b []byte) []byte {
	b = binary.BigEndian.AppendUint64(b, d.Block)
	b = append(b, byte(d.Codec))
	b = binary.BigEndian.AppendUint32(b, d.RawLen)
	return binary.BigEndian.AppendUint32(b, uint32(len(d.Payload)))
}

// Validate checks a known Codec, 1 <= RawLen <= MaxBlockSize, and a payload
// of exactly RawLen bytes for CodecNone, none for CodecZero, of 1 to RawLen
// bytes otherwise.
func (d *Data) Validate() error {
	return checkData(d.Codec, d.RawLen, uint64(len(d.Payload)))
}

func checkData(codec Codec, rawLen uint32, payloadLen uint64) error {
	switch {
	case !codec.valid():
		return errInvalid(TypeData, "unknown codec %d", uint8(codec))
	case rawLen > MaxBlockSize:
		return errTooLarge(TypeData, "raw length", uint64(rawLen), MaxBlockSize)
	case rawLen == 0:
		return errInvalid(TypeData, "raw length 0")
	case payloadLen > uint64(rawLen):
		return errTooLarge(TypeData, "payload length", payloadLen, uint64(rawLen))
	case codec == CodecNone && payloadLen != uint64(rawLen):
		return errInvalid(TypeData, "payload length %d differs from raw length %d without compression", payloadLen, rawLen)
	case codec == CodecZero && payloadLen != 0:
		return errInvalid(TypeData, "zero block with a %d-byte payload", payloadLen)
	case codec == CodecZero:
		return nil
	case payloadLen == 0:
		return errInvalid(TypeData, "empty %v payload", codec)
	}
	return nil
}

// parseDataHeader decodes and validates the fields before the payload: b
// holds at least DataHeaderLen bytes. It returns d without Payload and the
// payload's length.
func parseDataHeader(b []byte) (d *Data, payloadLen int, err error) {
	d = &Data{
		Block:  binary.BigEndian.Uint64(b[dataBlockOff:]),
		Codec:  Codec(b[dataCodecOff]),
		RawLen: binary.BigEndian.Uint32(b[dataRawLenOff:]),
	}
	n := binary.BigEndian.Uint32(b[dataPayloadLenOff:])
	if err := checkData(d.Codec, d.RawLen, uint64(n)); err != nil {
		return nil, 0, err
	}
	return d, int(n), nil
}

// parseData decodes a Data whose Payload aliases b.
func parseData(b []byte) (*Data, int, error) {
	if len(b) < DataHeaderLen {
		return nil, 0, errTruncated(TypeData, DataHeaderLen, len(b))
	}
	d, n, err := parseDataHeader(b)
	if err != nil {
		return nil, 0, err
	}
	end := dataPayloadOff + n
	if len(b) < end {
		return nil, 0, errTruncated(TypeData, end, len(b))
	}
	if n > 0 {
		d.Payload = b[dataPayloadOff:end:end]
	}
	return d, end, nil
}
