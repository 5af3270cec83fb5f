package wire

import (
	"encoding/binary"
	"math"
	"slices"
)

// Refine layout: First u64, SubSize u32, Count u32 (<= MaxBatch), then
// Count entries of Index u32 and Subs u32, then for each entry in order
// Subs sums of Weak u64 and Strong [StrongSize], or of Weak u64 alone when
// the entry's Index has refineWeakOnly set (CapSubWeak).
const (
	refineFirstOff   = 0
	refineSubSizeOff = refineFirstOff + sizeU64
	refineCountOff   = refineSubSizeOff + sizeU32
	refineEntriesOff = refineCountOff + countSize
	refineFixedLen   = refineEntriesOff
	refineEntryLen   = sizeU32 + sizeU32
	refineSumLen     = sizeU64 + StrongSize
	refineWeakOnly   = 1 << 31 // an entry's Index bit: its sums are Weak alone
	refineMaxLen     = refineFixedLen + MaxBatch*refineEntryLen + MaxSubBlocks*refineSumLen

	// MaxSubBlocks bounds the sub-blocks of one Refine (of all its blocks
	// together): a largest block in sub-blocks of the smallest size.
	MaxSubBlocks = MaxBlockSize / MinBlockSize
)

// RefineBlock is one refined block of a Refine: block First+Index, cut into
// sub-blocks of SubSize bytes (the last may be shorter), each with its
// tier-1 and tier-2 hash. A WeakOnly block (CapSubWeak) has tier-1
// hashes alone, no Strong: the sender may not confirm a sub-block by them,
// only look for the sub-blocks' bytes (the search's sub-block recovery,
// whose copies the receiver confirms by their strong hashes), and sends
// the block as Data or in pieces, never as SubData.
type RefineBlock struct {
	Index    uint32
	WeakOnly bool
	Weak     []uint64
	Strong   [][StrongSize]byte
}

// CapSubWeak: the peer takes part in WeakOnly refined blocks.
const CapSubWeak Caps = 1 << 9

// sumLen is the bytes of one of the block's sub-block sums.
func (rb *RefineBlock) sumLen() int {
	if rb.WeakOnly {
		return sizeU64
	}
	return refineSumLen
}

func (*Refine) Type() Type { return TypeRefine }

func (r *Refine) subs() (n int) {
	for i := range r.Blocks {
		n += len(r.Blocks[i].Weak)
	}
	return n
}

func (r *Refine) Len() int {
	n := refineFixedLen + len(r.Blocks)*refineEntryLen
	for i := range r.Blocks {
		n += len(r.Blocks[i].Weak) * r.Blocks[i].sumLen()
	}
	return n
}

func (r *Refine) Append(b []byte) []byte {
	b = slices.Grow(b, r.Len())
	b = binary.BigEndian.AppendUint64(b, r.First)
	b = binary.BigEndian.AppendUint32(b, r.SubSize)
	b = binary.BigEndian.AppendUint32(b, uint32(len(r.Blocks)))
	for i := range r.Blocks {
		index := r.Blocks[i].Index
		if r.Blocks[i].WeakOnly {
			index |= refineWeakOnly
		}
		b = binary.BigEndian.AppendUint32(b, index)
		b = binary.BigEndian.AppendUint32(b, uint32(len(r.Blocks[i].Weak)))
	}
	for i := range r.Blocks {
		rb := &r.Blocks[i]
		for k, w := range rb.Weak {
			b = binary.BigEndian.AppendUint64(b, w)
			if rb.WeakOnly {
				continue
			}
			var sum [StrongSize]byte // missing: zeros (Validate refuses it)
			if k < len(rb.Strong) {
				sum = rb.Strong[k]
			}
			b = append(b, sum[:]...)
		}
	}
	return b
}

// Validate checks a power-of-two SubSize in [MinBlockSize, MaxBlockSize/2],
// at most MaxBatch blocks with strictly increasing indices below MaxBatch
// whose block numbers do not overflow, 2 to MaxSubBlocks sub-blocks per
// block with as many strong as weak hashes (none when WeakOnly), and at
// most MaxSubBlocks in all.
func (r *Refine) Validate() error {
	if err := checkRefineHead(r.First, r.SubSize, uint64(len(r.Blocks))); err != nil {
		return err
	}
	for i := range r.Blocks {
		rb := &r.Blocks[i]
		var prev int64 = -1
		if i > 0 {
			prev = int64(r.Blocks[i-1].Index)
		}
		if err := checkRefineEntry(r.First, prev, rb.Index, uint64(len(rb.Weak))); err != nil {
			return err
		}
		if want := len(rb.Weak); rb.WeakOnly && len(rb.Strong) != 0 || !rb.WeakOnly && len(rb.Strong) != want {
			return errInvalid(TypeRefine, "block %d: %d strong hashes for %d sub-blocks (weak only: %v)", rb.Index, len(rb.Strong), want, rb.WeakOnly)
		}
	}
	if n := r.subs(); n > MaxSubBlocks {
		return errTooLarge(TypeRefine, "sub-blocks", uint64(n), MaxSubBlocks)
	}
	return nil
}

func checkRefineHead(first uint64, subSize uint32, count uint64) error {
	if subSize < MinBlockSize || subSize > MaxBlockSize/2 || subSize&(subSize-1) != 0 {
		return errInvalid(TypeRefine, "sub-block size %d: not a power of two in [%d, %d]", subSize, MinBlockSize, MaxBlockSize/2)
	}
	return checkBatch(TypeRefine, first, count)
}

// checkRefineEntry checks one entry; prev is the previous entry's index,
// or -1.
func checkRefineEntry(first uint64, prev int64, index uint32, subs uint64) error {
	switch {
	case index >= MaxBatch:
		return errTooLarge(TypeRefine, "block index", uint64(index), MaxBatch-1)
	case int64(index) <= prev:
		return errInvalid(TypeRefine, "block index %d after %d: not increasing", index, prev)
	case first > math.MaxUint64-uint64(index):
		return errInvalid(TypeRefine, "block %d+%d overflows", first, index)
	case subs < 2 || subs > MaxSubBlocks:
		return errInvalid(TypeRefine, "block %d: %d sub-blocks, want 2 to %d", index, subs, MaxSubBlocks)
	}
	return nil
}

func parseRefine(b []byte) (*Refine, int, error) {
	if len(b) < refineFixedLen {
		return nil, 0, errTruncated(TypeRefine, refineFixedLen, len(b))
	}
	r := &Refine{
		First:   binary.BigEndian.Uint64(b[refineFirstOff:]),
		SubSize: binary.BigEndian.Uint32(b[refineSubSizeOff:]),
	}
	count := binary.BigEndian.Uint32(b[refineCountOff:])
	if err := checkRefineHead(r.First, r.SubSize, uint64(count)); err != nil {
		return nil, 0, err
	}
	sumsOff := refineEntriesOff + int(count)*refineEntryLen
	if len(b) < sumsOff {
		return nil, 0, errTruncated(TypeRefine, sumsOff, len(b))
	}
	total, sumBytes := 0, 0 // sub-blocks and their sums' bytes, each checked before it counts
	var prev int64 = -1
	for i := range int(count) {
		e := b[refineEntriesOff+i*refineEntryLen:]
		index, subs := binary.BigEndian.Uint32(e), binary.BigEndian.Uint32(e[sizeU32:])
		weakOnly := index&refineWeakOnly != 0
		index &^= refineWeakOnly
		if err := checkRefineEntry(r.First, prev, index, uint64(subs)); err != nil {
			return nil, 0, err
		}
		prev = int64(index)
		if total += int(subs); total > MaxSubBlocks {
			return nil, 0, errTooLarge(TypeRefine, "sub-blocks", uint64(total), MaxSubBlocks)
		}
		if weakOnly {
			sumBytes += int(subs) * sizeU64
		} else {
			sumBytes += int(subs) * refineSumLen
		}
	}
	end := sumsOff + sumBytes
	if len(b) < end {
		return nil, 0, errTruncated(TypeRefine, end, len(b))
	}
	if count > 0 {
		r.Blocks = make([]RefineBlock, count)
	}
	p := b[sumsOff:end]
	for i := range r.Blocks {
		e := b[refineEntriesOff+i*refineEntryLen:]
		rb := &r.Blocks[i]
		index := binary.BigEndian.Uint32(e)
		rb.Index, rb.WeakOnly = index&^refineWeakOnly, index&refineWeakOnly != 0
		subs := int(binary.BigEndian.Uint32(e[sizeU32:]))
		rb.Weak = make([]uint64, subs)
		if !rb.WeakOnly {
			rb.Strong = make([][StrongSize]byte, subs)
		}
		for k := range subs {
			rb.Weak[k] = binary.BigEndian.Uint64(p)
			if !rb.WeakOnly {
				copy(rb.Strong[k][:], p[sizeU64:refineSumLen])
			}
			p = p[rb.sumLen():]
		}
	}
	return r, end, nil
}
