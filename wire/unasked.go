package wire

import "encoding/binary"

// TypeUnasked is the sender's announcement, with CapUnasked, that Count
// blocks from First come as Data without their tier-1 hashes having been
// offered: the receiver sends no Verdict for them and takes each as
// needed (engine/unasked.go). It takes a WeakBatch's place
// in the stripe's order of batches.
const TypeUnasked Type = 0x1e // sender -> receiver with CapUnasked: these blocks come without a Verdict

// CapUnasked: the peer takes part in unasked batches (a sender may send
// Unasked instead of a WeakBatch and then the batch's blocks as Data at
// once; a receiver takes them without answering).
const CapUnasked Caps = 1 << 8

// Unasked says that blocks First..First+Count-1 follow as Data, each
// needed, without a WeakBatch and its Verdict.
type Unasked struct {
	First uint64
	Count uint32 // 1 <= Count <= MaxBatch
}

// Unasked layout: First u64, Count u32.
const (
	unaskedFirstOff = 0
	unaskedCountOff = unaskedFirstOff + sizeU64
	unaskedLen      = unaskedCountOff + countSize
)

func (*Unasked) Type() Type { return TypeUnasked }

func (*Unasked) Len() int { return unaskedLen }

func (u *Unasked) Append(b []byte) []byte {
	b = binary.BigEndian.AppendUint64(b, u.First)
	return binary.BigEndian.AppendUint32(b, u.Count)
}

// Validate checks 1 <= Count <= MaxBatch and that the block numbers do
// not overflow.
func (u *Unasked) Validate() error {
	if u.Count == 0 {
		return errInvalid(TypeUnasked, "no blocks")
	}
	return checkBatch(TypeUnasked, u.First, uint64(u.Count))
}

func parseUnasked(b []byte) (*Unasked, int, error) {
	if len(b) < unaskedLen {
		return nil, 0, errTruncated(TypeUnasked, unaskedLen, len(b))
	}
	u := &Unasked{First: binary.BigEndian.Uint64(b[unaskedFirstOff:]), Count: binary.BigEndian.Uint32(b[unaskedCountOff:])}
	if err := u.Validate(); err != nil {
		return nil, 0, err
	}
	return u, unaskedLen, nil
}
