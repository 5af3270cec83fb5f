package wire

// Messages of the search for moved data (CapRolling; engine/doc.go has the
// protocol, this file the types). A receiver sends RollSums after every
// Verdict (and Refine); a sender describes a needed block it found moved
// data in as pieces, CopyFrom and Literal messages that cover the block in
// order; the receiver answers a copy whose strong hash it cannot confirm
// with Refused, and the sender then sends that block whole as Data. A
// stripe's pieces end with the sender's RollEnd, which the receiver echoes
// once every Refused of the stripe is out.
const (
	TypeRollSums Type = 0x19 // receiver -> sender, after every Verdict (and Refine): anchor and tier-1 sums of blocks it may copy from
	TypeCopyFrom Type = 0x1a // sender -> receiver: part of a block is the receiver's old bytes at Src
	TypeLiteral  Type = 0x1b // sender -> receiver: part of a block, its bytes
	TypeRefused  Type = 0x1c // receiver -> sender: a CopyFrom of Block failed its strong hash; send the block whole
	TypeRollEnd  Type = 0x1d // either way: the stripe's pieces (sender) or refusals (receiver) are complete
)

// CapRolling: the peer takes part in the search for moved data (a
// receiver follows every Verdict, and Refine, with RollSums; a sender may
// describe a needed block with CopyFrom and Literal pieces).
const CapRolling Caps = 1 << 2

// RollSums offers, for the blocks of the Verdict's batch that the receiver
// holds and keeps for a while, each block's anchor sum (the rolling sum of
// its first bytes), its length (the receiver's old last block may be
// shorter than the sender's block) and the tier-1 hash of those bytes. Bit
// i of the bitmap (as in Verdict) set means block First+i is offered;
// Anchor, Weak and N have one entry per set bit, in order.
type RollSums struct {
	First  uint64
	Count  uint32
	Offer  []bool // len == Count
	Anchor []uint64
	Weak   []uint64
	N      []uint32 // 1 <= N <= MaxBlockSize
}

// CopyFrom says that the N bytes at Offset in Block are the receiver's
// old bytes at byte offset Src, whose strong hash is Strong. The receiver
// uses them only if its own bytes there have that strong hash.
type CopyFrom struct {
	Block  uint64
	Offset uint32
	N      uint32 // bytes: 1 <= N <= MaxBlockSize
	Src    uint64
	Strong [StrongSize]byte
}

// Literal is the part of a block at Offset that was not found: its bytes.
type Literal struct {
	Block  uint64
	Offset uint32
	Bytes  []byte // 1 <= len <= MaxBlockSize
}

// Refused names a block whose pieces the receiver did not take: a
// CopyFrom's strong hash did not match its bytes at Src.
type Refused struct {
	Block uint64
}

// RollEnd closes a stripe's pieces. The sender's says how many blocks it
// described in pieces and how many of their bytes as copies; the
// receiver's answer, how many of those blocks it took (the others it
// refused) and how many bytes it copied for them.
type RollEnd struct {
	Blocks uint64
	Bytes  uint64
}
