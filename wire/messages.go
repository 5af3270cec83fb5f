package wire

// Message types. A type byte is written once per frame; unknown types are
// reported by Reader.ReadMessage as *UnknownTypeError after their payload has
// been skipped, so the protocol can grow.
const (
	TypeHello     Type = 0x01 // both sides, first frame on every stream
	TypeOpen      Type = 0x02 // client -> server, first frame after Hello on the control stream
	TypeOpenReply Type = 0x03 // server -> client
	TypeAttach    Type = 0x04 // client -> server, first frame after Hello on a worker stream
	TypeError     Type = 0x05 // either way, ends the stream/session
	TypeKeepalive Type = 0x06 // either way, to a peer with CapKeepalive: still working, nothing to say yet
	TypeWeakBatch Type = 0x10 // sender -> receiver: tier-1 hashes of the sender's blocks
	TypeVerdict   Type = 0x11 // receiver -> sender: per block, need-data or its tier-2 hash
	TypeData      Type = 0x12 // sender -> receiver: one block's bytes
	TypeStripeEnd Type = 0x13 // sender -> receiver: a worker's stripe is complete
	TypeFinal     Type = 0x14 // sender -> receiver on stream 0: all stripes sent, source unchanged
	TypeFinalAck  Type = 0x15 // receiver -> sender on stream 0: target committed, with its counts
	TypeReport    Type = 0x16 // either way on stream 0, before Final or FinalAck: what the side read
	TypeRefine    Type = 0x17 // receiver -> sender with CapRefine, after every Verdict: sub-block sums of refined blocks
	TypeSubData   Type = 0x18 // sender -> receiver with CapRefine: a run of sub-blocks' bytes
)

// Type identifies a message on the wire.
type Type uint8

// Message is implemented by every frame payload. Messages are always pointers:
// *Hello, *Open, *OpenReply, *Attach, *Error, *WeakBatch, *Verdict, *Data,
// *StripeEnd, *Final and *FinalAck implement Message (the struct values do
// not), and Reader.ReadMessage and Decode return them. Each also has a
// Validate method, which WriteFrame calls and decoding enforces.
type Message interface {
	Type() Type
	// Len is the exact length of the encoded payload (without frame header).
	Len() int
	// Append appends the encoded payload to b.
	Append(b []byte) []byte
}

// Protocol constants.
const (
	Magic           = "PDFA" // first 4 bytes of Hello
	ProtocolVersion = 2      // 2: Hello carries Caps

	MinBlockSize = 4 << 10
	MaxBlockSize = 64 << 20

	MaxPathLen    = 4096
	MaxErrorLen   = 4096
	MaxWorkers    = 1024
	MaxBatch      = 4096 // blocks per WeakBatch or Verdict
	StrongSize    = 32   // bytes of every tier-2 hash
	DigestSize    = 32   // bytes of the end-to-end digest in Final and FinalAck
	MaxFrameLen   = MaxBlockSize + 64
	SessionIDSize = 16
)

// Op is what a client asks for in Open.
type Op uint8

const (
	OpPush Op = 1 // client is the sender; server writes Path
	OpPull Op = 2 // client is the receiver; server reads Path
)

// Flags on Open.
const (
	FlagDryRun    uint32 = 1 << 0
	FlagWholeFile uint32 = 1 << 1
	FlagNoSparse  uint32 = 1 << 2 // write zero blocks as data, not holes
	FlagNoTimes   uint32 = 1 << 3 // leave the target's mtime alone
	FlagNoPerms   uint32 = 1 << 4 // leave the target's mode alone
	FlagAtomic    uint32 = 1 << 5 // replace the target only at the end
	FlagOwner     uint32 = 1 << 6 // give the target the source's owner and group
	FlagNoCache   uint32 = 1 << 7 // neither side trusts a block-hash record
	FlagNoRolling uint32 = 1 << 8 // no search for moved data, even with CapRolling
	// FlagMinBlock is a field, not a flag: log2 of the refinement's
	// sub-block size over MinBlockSize (Open.MinBlock); 0, the default,
	// is MinBlockSize. A peer that predates it refuses a non-zero value
	// as unknown flags.
	FlagMinBlock      uint32 = 0xF << flagMinBlockShift
	flagMinBlockShift        = 24
)

// Codec of a Data payload.
type Codec uint8

const (
	CodecNone Codec = 0
	CodecLZ4  Codec = 1
	CodecZero Codec = 2 // an all-zero block: no payload
)

// Hello is the first frame on every stream, in both directions.
type Hello struct {
	Version uint16
	// Caps are the sender's capabilities (none in a version-1 Hello).
	Caps Caps
	// Magic is not stored: it is always written and checked.
}

// Keepalive tells the peer that this side is still at work in a phase that
// sends nothing else for a while (an atomic push's copy of the old target,
// a search for moved blocks). Only a peer with CapKeepalive is sent one;
// it skips it, and its arrival counts as progress for the peer's idle
// watchdog. Done is a progress counter of the phase (bytes copied, blocks
// searched), for display only.
type Keepalive struct {
	Done uint64
}

// Open starts a session on the control stream.
type Open struct {
	Op        Op
	SessionID [SessionIDSize]byte
	Path      string // relative to the server's root, '/'-separated
	// Size, ModTime (unix nanoseconds) and Mode of the source when the client is the sender (OpPush).
	Size      int64
	ModTime   int64
	Mode      uint32
	BlockSize uint32
	Workers   uint16
	Strong    uint8 // engine's strong hash id
	Codec     Codec // compression the sender may use
	Flags     uint32
	// Start and End restrict the sync to the byte range [Start, End) of the
	// file; End 0 means the source's size. Both are block-aligned (End may
	// also be the size); the engine checks that.
	Start int64
	End   int64
}

// OpenReply answers Open. For OpPull it carries the source's size, time and mode.
type OpenReply struct {
	Size    int64
	ModTime int64
	Mode    uint32
	Workers uint16 // workers the server accepted (may be fewer than asked)
	// RecordDigest, optional (to a client with CapRecordDigest; zero:
	// absent), is the digest of the pushed-to target's block-hash record
	// when it is a trusted hit: a sender whose source record has the same
	// may end the session at once (engine, "Equal by records").
	RecordDigest [DigestSize]byte
}

// Attach binds a new worker stream to a session.
type Attach struct {
	SessionID [SessionIDSize]byte
	Worker    uint16
}

// Error codes.
const (
	CodeInternal   uint16 = 1
	CodeNotFound   uint16 = 2
	CodeDenied     uint16 = 3
	CodeBusy       uint16 = 4
	CodeBadRequest uint16 = 5
	CodeIO         uint16 = 6
	CodeChanged    uint16 = 7 // source changed during the sync
	CodeCanceled   uint16 = 8
	CodeVerify     uint16 = 9
)

// Error carries a failure to the peer. Message is at most MaxErrorLen bytes.
type Error struct {
	Code    uint16
	Message string
}

// WeakBatch is the tier-1 hashes of len(Hashes) consecutive blocks starting at First.
// On the wire: First u64, Count u32, then Count u64 hashes.
type WeakBatch struct {
	First  uint64
	Hashes []uint64 // len <= MaxBatch
}

// Verdict answers a WeakBatch block by block: a block in Need must be sent;
// every other block is followed, in order, by its 32-byte tier-2 hash in Strong.
// On the wire: First u64, Count u32, bitmap ceil(Count/8) bytes (bit set = need;
// block First+i is bit i%8 of byte i/8, least significant bit first; bits past
// Count are zero), then StrongSize bytes for each block whose bit is clear.
type Verdict struct {
	First  uint64
	Count  uint32
	Need   []bool // len == Count
	Strong [][StrongSize]byte
}

// Data is one block. Payload is RawLen bytes when Codec is CodecNone, else
// compressed and at most RawLen bytes. 1 <= RawLen <= MaxBlockSize.
// On the wire: Block u64, Codec u8, RawLen u32, payload length u32, payload.
type Data struct {
	Block   uint64
	Codec   Codec
	RawLen  uint32
	Payload []byte
}

// StripeEnd closes a worker's stripe: Sent blocks went as Data, Confirmed were tier-2 equal.
type StripeEnd struct {
	Sent      uint64
	Confirmed uint64
}

// Final tells the receiver the sender is done and the source did not change.
// Digest is the sender's end-to-end digest of the synced range (see engine).
type Final struct {
	Size    int64
	ModTime int64
	Mode    uint32
	Uid     uint32 // the source's owner and group, applied with FlagOwner
	Gid     uint32
	Digest  [DigestSize]byte
}

// Report is what one side read of its own copy and how it used its
// block-hash cache, for the other side's account of the session. Each
// side sends it on stream 0 just before its Final or FinalAck. It (and
// Open's FlagNoCache) predates Caps: every version-2 peer knows both, so
// neither has a capability bit.
type Report struct {
	Read  uint64 // bytes read of the side's copy
	Cache uint8  // CacheOff … CacheResume; CacheUnknown if the side did not say
}

// Refine follows every Verdict in a session with CapRefine. Each of its
// Blocks is a block of the verdict's batch (First is the batch's first
// block) that the Verdict marked needed and that the receiver splits into
// sub-blocks of SubSize bytes, with each sub-block's tier-1 and tier-2
// hash. The sender confirms a sub-block whose two hashes equal its own and
// sends each other one as SubData; it may instead send the block whole as
// Data. A batch with no refined block is followed by a Refine without
// Blocks.
type Refine struct {
	First   uint64
	SubSize uint32
	Blocks  []RefineBlock // increasing Index, each below MaxBatch
}

// SubData is the part of a refined block at Offset within Block: RawLen
// bytes, compressed or not as in Data. It holds one sub-block or a run of
// consecutive ones (the last of which may end the block), at most half a
// block.
type SubData struct {
	Block   uint64
	Offset  uint32
	Codec   Codec
	RawLen  uint32
	Payload []byte
}

// FinalAck is the receiver's result after commit (truncate, fsync, metadata).
type FinalAck struct {
	Written   uint64           // blocks written
	Confirmed uint64           // blocks tier-2 confirmed
	Bytes     uint64           // bytes written
	Digest    [DigestSize]byte // the receiver's end-to-end digest
}
