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
// sides check with CheckHello. A payload must hold exactly one message:
// trailing bytes are an error.
//
// # Messages
//
// Messages are passed as pointers: *Hello, *Open, *OpenReply, *Attach,
// *Error, *WeakBatch, *Verdict, *Data, *StripeEnd, *Final, *Report and
// *FinalAck implement Message, and ReadMessage and Decode return them. *Error is also
// an error ("peer: <message> (code N)"). Each message type has a Validate
// method; WriteFrame refuses a message that fails it and decoding returns
// only messages that pass it. Pipe mode's one-way streams add
// *ChecksumHeader, *HashBatch, *ChecksumEnd, *RetrieveHeader and
// *RetrieveEnd (types 0x20-0x24; see pipe.go for their order and layout).
//
// Payloads are sequences of fixed-width big-endian integers, byte arrays,
// and strings (a u16 byte count, then the bytes):
//
//	Hello      "PDFA", Version u16
//	Open       Op u8, SessionID [16], Size i64, ModTime i64, Mode u32,
//	           BlockSize u32, Workers u16, Strong u8, Codec u8, Flags u32,
//	           Start i64, End i64, Path string (<= MaxPathLen)
//	OpenReply  Size i64, ModTime i64, Mode u32, Workers u16
//	Attach     SessionID [16], Worker u16
//	Error      Code u16, Message string (<= MaxErrorLen)
//	WeakBatch  First u64, Count u32 (<= MaxBatch), Count × u64
//	Verdict    First u64, Count u32 (<= MaxBatch), bitmap ceil(Count/8) bytes,
//	           StrongSize bytes per clear bit
//	Data       Block u64, Codec u8, RawLen u32 (<= MaxBlockSize),
//	           payload length u32 (<= RawLen, == RawLen for CodecNone), payload
//	StripeEnd  Sent u64, Confirmed u64
//	Final      Size i64, ModTime i64, Mode u32, Uid u32, Gid u32,
//	           Digest [DigestSize]
//	Report     Read u64, Cache u8 (<= CacheResume)
//	FinalAck   Written u64, Confirmed u64, Bytes u64, Digest [DigestSize]
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
package wire
