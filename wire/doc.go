// Package wire owns pdiffagent's binary protocol: the messages two agents
// exchange and their framing. It imports only the standard library.
//
// # Frames
//
// A frame is a 5-byte header (FrameHeaderLen) followed by the payload:
//
//	offset 0  u32  payload length, big-endian (not counting the header)
//	offset 4  u8   message type (Type)
//	offset 5  ...  payload
//
// Every length read from the network is checked against a declared maximum
// before any buffer is allocated: the payload length against MaxFrameLen and
// the largest valid payload of its type, and each count or string length
// against its Max… constant. Unknown message types are skipped (Reader
// reports them as *UnknownTypeError) so that later versions can add messages;
// the Hello that opens every stream carries the protocol version, which both
// sides check with CheckHello, and the sender's capabilities (Caps). A
// payload must hold exactly one message: trailing bytes are an error.
//
// # Messages
//
// Messages are passed as pointers: *Hello, *Open, *OpenReply, *Attach,
// *Error, *Keepalive, *WeakBatch, *Verdict, *Data, *StripeEnd, *Final,
// *Report, *Refine, *SubData, *RollSums, *CopyFrom, *Literal, *Refused,
// *RollEnd, *Unasked and *FinalAck implement Message, and ReadMessage and Decode
// return them. *Error is also an error ("peer: <message> (code N)"). Each
// message type has a Validate method; WriteFrame refuses a message that
// fails it and decoding returns only messages that pass it. Pipe mode's
// one-way streams add *ChecksumHeader, *HashBatch, *ChecksumEnd,
// *RetrieveHeader and *RetrieveEnd (types 0x20-0x24; see pipe.go for their
// order and layout).
//
// Payloads are sequences of fixed-width big-endian integers, byte arrays,
// and strings (a u16 byte count, then the bytes):
//
//	Hello      "PDFA", Version u16, Caps u64 (version 1: no Caps)
//	Open       Op u8, SessionID [16], Size i64, ModTime i64, Mode u32,
//	           BlockSize u32, Workers u16, Strong u8, Codec u8, Flags u32,
//	           Start i64, End i64, Path string (<= MaxPathLen); Flags
//	           bits 24-27 (FlagMinBlock) are log2(sub-block / MinBlockSize)
//	OpenReply  Size i64, ModTime i64, Mode u32, Workers u16
//	Attach     SessionID [16], Worker u16
//	Error      Code u16, Message string (<= MaxErrorLen)
//	Keepalive  Done u64
//	WeakBatch  First u64, Count u32 (<= MaxBatch), Count × u64
//	Verdict    First u64, Count u32 (<= MaxBatch), bitmap ceil(Count/8) bytes,
//	           StrongSize bytes per clear bit
//	Data       Block u64, Codec u8, RawLen u32 (<= MaxBlockSize),
//	           payload length u32 (<= RawLen, == RawLen for CodecNone), payload
//	StripeEnd  Sent u64, Confirmed u64
//	Final      Size i64, ModTime i64, Mode u32, Uid u32, Gid u32,
//	           Digest [DigestSize]
//	Report     Read u64, Cache u8 (<= CacheResume)
//	Refine     First u64, SubSize u32, Count u32 (<= MaxBatch),
//	           Count × (Index u32, Subs u32), then Σ Subs × (Weak u64,
//	           Strong [StrongSize]) (<= MaxSubBlocks in all)
//	SubData    Block u64, Offset u32, Codec u8, RawLen u32 (<= MaxBlockSize/2),
//	           payload length u32, payload
//	FinalAck   Written u64, Confirmed u64, Bytes u64, Digest [DigestSize]
//	RollSums   First u64, Count u32 (<= MaxBatch), bitmap ceil(Count/8) bytes,
//	           per set bit Anchor u64, Weak u64, N u32 (1..MaxBlockSize)
//	CopyFrom   Block u64, Offset u32, N u32, Src u64, Strong [StrongSize]
//	Literal    Block u64, Offset u32, length u32 (<= MaxBlockSize), bytes
//	Refused    Block u64
//	RollEnd    Blocks u64, Bytes u64
//	Unasked    First u64, Count u32 (1..MaxBatch)
//
// # Reading and writing
//
// WriteFrame validates and writes one frame; a large Data payload is written
// from the caller's slice, not copied. AppendFrame appends a frame to a
// buffer without validating. A Reader (NewReader) decodes a stream frame by
// frame; a Data payload it returns is a fresh buffer owned by the caller.
// Decode decodes a single payload.
//
// Errors name the message type and wrap a sentinel (ErrTruncated,
// ErrTooLarge, ErrBadMagic, ErrVersion, ErrTrailing, ErrInvalid) through
// *FormatError, e.g. "wire: Data: raw length 99999999 exceeds maximum 67108864".
//
// # How the protocol grows
//
// The features ahead (a hash cache, sub-block refinement, a search for
// moved data, directory trees, ssh multiplexing) each change what crosses
// the wire. They land as capabilities, not as flag days across a fleet:
//
//   - Capabilities. Every Hello carries Caps, one bit per capability
//     (CapKeepalive, …). A session uses the AND of the two Hellos
//     (Hello.Common; the agent hands it to the engine as Session.Caps), so
//     a feature runs only when both peers have it, and a peer without the
//     bit gets the behaviour from before the feature: nothing it does not
//     know is ever sent to it. A new bit is added with the code that uses
//     it; bits are never reused. Pipe mode is one-way: its stages announce
//     their Caps but use none.
//   - Versions. ProtocolVersion changes only for what a capability cannot
//     express: a change to the framing or to Hello itself. Version 2 is
//     the one that introduced Caps; a version-1 Hello (no Caps) is still
//     decoded so that its sender is told to upgrade. Peers of different
//     versions do not talk (CheckHello).
//   - New messages take new type numbers. Unknown types are skipped, but a
//     message that matters is only sent to a peer with its capability; an
//     unknown type is never relied upon to be harmless.
//   - Messages that name their file. Today a session carries one file, and
//     Open names it. For a session that carries a tree (a capability), Open
//     names the session's root and each file becomes a work unit with an
//     id (u32) that the client assigns in a FileOpen (path, size, mode,
//     times, range) and the server answers in a FileReply; every per-file
//     message (WeakBatch, Verdict, Data, StripeEnd, Final, FinalAck) then
//     carries that id in front of its fields. The engine's split of its
//     parameters into Session (agreed once) and File (one file) is the
//     same cut.
//   - Verdicts that can grow. A Verdict says, per block, one bit: needed,
//     or confirm by the tier-2 hash that follows. Its successor (a
//     capability) carries a kind per block, two bits or a byte: need,
//     confirm (tier-2 hash follows), refine (the block splits into
//     sub-blocks, each with its own sums: sub-block refinement), copy-from
//     (the receiver already holds the data at another offset: a search for
//     moved data), with room for more; a kind the sender does not know is
//     an error, which the capability rules out. Refinement needed no new
//     kind: with CapRefine every Verdict is followed by a Refine that
//     lists the needed blocks the receiver split, with the sums of their
//     sub-blocks, and the sender answers with SubData, each a run of
//     changed sub-blocks (engine/doc.go); nor
//     did the search for moved data (CapRolling, types 0x19-0x1D): the
//     receiver follows every Verdict (and Refine) with RollSums, the sums
//     of the blocks it may copy from, and the sender, not the receiver,
//     decides where data moved: it describes such a block with CopyFrom
//     and Literal pieces instead of Data. The receiver confirms each copy
//     by its strong hash and answers one that fails with Refused, after
//     which the block comes whole as Data; RollEnd closes a stripe's
//     pieces both ways. Open's FlagNoRolling turns the search off for a
//     session between peers that both have it. With CapSubWeak a Refine
//     may also list a needed block by its sub-blocks' tier-1 hashes alone
//     (the entry's Index has its top bit set; 8 bytes a sub-block): the
//     sender never confirms sub-blocks by them, it looks for their bytes
//     where the search left a literal and sends what it finds as
//     CopyFrom, which the receiver confirms as any other.
//   - Batches that ask nothing. With CapUnasked (type 0x1e) a sender
//     whose blocks have all been needed for a while (a replaced file) may
//     announce a batch with Unasked instead of a WeakBatch and send its
//     blocks as Data at once: the receiver answers no Verdict (and no
//     Refine or RollSums) and takes each as needed. It keeps its place in
//     the stripe's order of batches, so the receiver's accounting of
//     needed blocks and the end-to-end digest are unchanged.
//   - Other meanings of the same bytes. CapXXH3 changes no message: the
//     8-byte tier-1 hashes (WeakBatch, Refine's sub-block sums, RollSums)
//     are XXH3-64 instead of xxhash64 between peers that both have it.
//   - Grown fields. A message grows a field without a new type when the
//     field can only be sent under a capability and its presence is
//     marked in the message itself, so that every decoder still checks
//     the whole message: OpenReply's RecordDigest (CapRecordDigest) is an
//     optional tail; TreeEntries' record digests (CapTreeRecords) are
//     announced by a flag bit in its first byte, after which each entry
//     says whether its digest follows. An older decoder refuses the grown
//     form (trailing bytes, an unknown flag), which the capability rules
//     out.
//   - Keepalive. A side in a phase that sends nothing for a while (an
//     atomic push's copy of the old target before OpenReply, a search)
//     sends Keepalive frames to a peer with CapKeepalive, at most one per
//     second; the receiver skips them, and their bytes count as progress
//     for its idle watchdog, so a silent phase need not be bounded by
//     guessing its length from a rate. Done is the phase's own progress
//     counter, for display.
package wire
