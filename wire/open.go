package wire

import (
	"encoding/binary"
	"math/bits"
)

// Open layout: the fixed fields, then Path (u16 length + bytes).
const (
	openOpOff        = 0
	openSessionOff   = openOpOff + sizeU8
	openSizeOff      = openSessionOff + SessionIDSize
	openModTimeOff   = openSizeOff + sizeU64
	openModeOff      = openModTimeOff + sizeU64
	openBlockSizeOff = openModeOff + sizeU32
	openWorkersOff   = openBlockSizeOff + sizeU32
	openStrongOff    = openWorkersOff + sizeU16
	openCodecOff     = openStrongOff + sizeU8
	openFlagsOff     = openCodecOff + sizeU8
	openStartOff     = openFlagsOff + sizeU32
	openEndOff       = openStartOff + sizeU64
	openPathOff      = openEndOff + sizeU64
	openFixedLen     = openPathOff // everything before Path
	openMaxLen       = openFixedLen + strLenSize + MaxPathLen
)

func (*Open) Type() Type { return TypeOpen }

func (o *Open) Len() int { return openFixedLen + strLenSize + len(o.Path) }

func (o *Open) Append(b []byte) []byte {
	b = append(b, byte(o.Op))
	b = append(b, o.SessionID[:]...)
	b = binary.BigEndian.AppendUint64(b, uint64(o.Size))
	b = binary.BigEndian.AppendUint64(b, uint64(o.ModTime))
	b = binary.BigEndian.AppendUint32(b, o.Mode)
	b = binary.BigEndian.AppendUint32(b, o.BlockSize)
	b = binary.BigEndian.AppendUint16(b, o.Workers)
	b = append(b, o.Strong, byte(o.Codec))
	b = binary.BigEndian.AppendUint32(b, o.Flags)
	b = binary.BigEndian.AppendUint64(b, uint64(o.Start))
	b = binary.BigEndian.AppendUint64(b, uint64(o.End))
	return appendString(b, o.Path)
}

// MinBlock is the sub-block size of refinement that o's FlagMinBlock
// field gives.
func (o *Open) MinBlock() uint32 {
	return MinBlockSize << (o.Flags & FlagMinBlock >> flagMinBlockShift)
}

// SetMinBlock sets the FlagMinBlock field to n, a power of two from
// MinBlockSize to MaxBlockSize (Validate checks the result).
func (o *Open) SetMinBlock(n uint32) {
	shift := uint32(bits.TrailingZeros32(max(n, MinBlockSize) / MinBlockSize))
	o.Flags = o.Flags&^FlagMinBlock | shift<<flagMinBlockShift&FlagMinBlock
}

// Validate checks o's fields: a known Op, Size >= 0, MinBlockSize <=
// MinBlock() <= BlockSize <= MaxBlockSize, 1 <= Workers <= MaxWorkers, a
// known Codec, only known Flags, and len(Path) <= MaxPathLen. Path's
// contents and Strong are left to the agent.
func (o *Open) Validate() error {
	switch {
	case !o.Op.valid():
		return errInvalid(TypeOpen, "unknown op %d", uint8(o.Op))
	case o.Size < 0:
		return errInvalid(TypeOpen, "negative size %d", o.Size)
	case o.Start < 0 || o.End < 0 || (o.End != 0 && o.End < o.Start):
		return errInvalid(TypeOpen, "bad range [%d, %d)", o.Start, o.End)
	case o.BlockSize < MinBlockSize || o.BlockSize > MaxBlockSize:
		return errInvalid(TypeOpen, "block size %d outside [%d, %d]", o.BlockSize, MinBlockSize, MaxBlockSize)
	case o.MinBlock() > o.BlockSize:
		return errInvalid(TypeOpen, "min block %d above the block size %d", o.MinBlock(), o.BlockSize)
	case o.Workers < 1 || o.Workers > MaxWorkers:
		return errInvalid(TypeOpen, "workers %d outside [1, %d]", o.Workers, MaxWorkers)
	case o.Codec != CodecNone && o.Codec != CodecLZ4:
		return errInvalid(TypeOpen, "codec %d is not a compression", uint8(o.Codec))
	case o.Flags&^knownFlags != 0:
		return errInvalid(TypeOpen, "unknown flags %#x", o.Flags&^knownFlags)
	case len(o.Path) > MaxPathLen:
		return errTooLarge(TypeOpen, "path length", uint64(len(o.Path)), MaxPathLen)
	}
	return nil
}

func parseOpen(b []byte) (*Open, int, error) {
	if len(b) < openFixedLen {
		return nil, 0, errTruncated(TypeOpen, openFixedLen, len(b))
	}
	o := &Open{
		Op:        Op(b[openOpOff]),
		Size:      int64(binary.BigEndian.Uint64(b[openSizeOff:])),
		ModTime:   int64(binary.BigEndian.Uint64(b[openModTimeOff:])),
		Mode:      binary.BigEndian.Uint32(b[openModeOff:]),
		BlockSize: binary.BigEndian.Uint32(b[openBlockSizeOff:]),
		Workers:   binary.BigEndian.Uint16(b[openWorkersOff:]),
		Strong:    b[openStrongOff],
		Codec:     Codec(b[openCodecOff]),
		Flags:     binary.BigEndian.Uint32(b[openFlagsOff:]),
		Start:     int64(binary.BigEndian.Uint64(b[openStartOff:])),
		End:       int64(binary.BigEndian.Uint64(b[openEndOff:])),
	}
	copy(o.SessionID[:], b[openSessionOff:openSizeOff])
	path, n, err := parseString(TypeOpen, "path", b[openPathOff:], MaxPathLen)
	if err != nil {
		return nil, 0, err
	}
	o.Path = path
	if err := o.Validate(); err != nil {
		return nil, 0, err
	}
	return o, openPathOff + n, nil
}
