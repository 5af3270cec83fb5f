package wire

import "fmt"

// Sizes of the fixed-width fields. All integers are big-endian.
const (
	sizeU8  = 1
	sizeU16 = 2
	sizeU32 = 4
	sizeU64 = 8

	// strLenSize is the length prefix of a string: a u16 byte count.
	strLenSize = sizeU16
	// countSize is the element count of WeakBatch and Verdict.
	countSize = sizeU32
)

// Frame header layout: payload length (u32), then message type (u8).
const (
	frameLenOff  = 0
	frameTypeOff = frameLenOff + sizeU32

	// FrameHeaderLen is the size of the header that precedes every payload.
	FrameHeaderLen = frameTypeOff + sizeU8
)

// String returns the message name, e.g. "Data", or "Type(0x42)" for a type
// this package does not know.
func (t Type) String() string {
	switch t {
	case TypeHello:
		return "Hello"
	case TypeOpen:
		return "Open"
	case TypeOpenReply:
		return "OpenReply"
	case TypeAttach:
		return "Attach"
	case TypeError:
		return "Error"
	case TypeKeepalive:
		return "Keepalive"
	case TypeWeakBatch:
		return "WeakBatch"
	case TypeVerdict:
		return "Verdict"
	case TypeData:
		return "Data"
	case TypeStripeEnd:
		return "StripeEnd"
	case TypeFinal:
		return "Final"
	case TypeFinalAck:
		return "FinalAck"
	case TypeReport:
		return "Report"
	case TypeRefine:
		return "Refine"
	case TypeSubData:
		return "SubData"
	case TypeRollSums:
		return "RollSums"
	case TypeCopyFrom:
		return "CopyFrom"
	case TypeLiteral:
		return "Literal"
	case TypeRefused:
		return "Refused"
	case TypeRollEnd:
		return "RollEnd"
	case TypeChecksumHeader:
		return "ChecksumHeader"
	case TypeHashBatch:
		return "HashBatch"
	case TypeChecksumEnd:
		return "ChecksumEnd"
	case TypeRetrieveHeader:
		return "RetrieveHeader"
	case TypeRetrieveEnd:
		return "RetrieveEnd"
	case TypeTreeReq:
		return "TreeReq"
	case TypeTreeReply:
		return "TreeReply"
	case TypeTreeEntries:
		return "TreeEntries"
	case TypeUnasked:
		return "Unasked"
	}
	return fmt.Sprintf("Type(%#02x)", uint8(t))
}

// maxPayloadLen is the largest valid payload of a message of type t; ok is
// false when t is not a known type.
func maxPayloadLen(t Type) (n int, ok bool) {
	switch t {
	case TypeHello:
		return helloLen, true
	case TypeOpen:
		return openMaxLen, true
	case TypeOpenReply:
		return openReplyLen + DigestSize, true
	case TypeAttach:
		return attachLen, true
	case TypeError:
		return errorMaxLen, true
	case TypeKeepalive:
		return keepaliveLen, true
	case TypeWeakBatch:
		return weakBatchMaxLen, true
	case TypeVerdict:
		return verdictMaxLen, true
	case TypeData:
		return dataMaxLen, true
	case TypeStripeEnd:
		return stripeEndLen, true
	case TypeFinal:
		return finalLen, true
	case TypeFinalAck:
		return finalAckLen, true
	case TypeReport:
		return reportLen, true
	case TypeRefine:
		return refineMaxLen, true
	case TypeSubData:
		return subDataMaxLen, true
	case TypeRollSums:
		return rollSumsMaxLen, true
	case TypeCopyFrom:
		return copyFromLen, true
	case TypeLiteral:
		return literalMaxLen, true
	case TypeRefused:
		return refusedLen, true
	case TypeRollEnd:
		return rollEndLen, true
	case TypeChecksumHeader:
		return checksumHeaderLen, true
	case TypeHashBatch:
		return hashBatchMaxLen, true
	case TypeChecksumEnd:
		return checksumEndLen, true
	case TypeRetrieveHeader:
		return retrieveHeaderLen, true
	case TypeRetrieveEnd:
		return retrieveEndLen, true
	case TypeTreeReq:
		return treeReqMaxLen, true
	case TypeTreeReply:
		return treeReplyMaxLen, true
	case TypeTreeEntries:
		return treeEntriesMaxLen, true
	case TypeUnasked:
		return unaskedLen, true
	}
	return 0, false
}

// String returns "push", "pull" or "Op(n)".
func (o Op) String() string {
	switch o {
	case OpPush:
		return "push"
	case OpPull:
		return "pull"
	case OpTree:
		return "tree"
	case OpTreePull:
		return "tree pull"
	}
	return fmt.Sprintf("Op(%d)", uint8(o))
}

func (o Op) valid() bool { return o == OpPush || o == OpPull || o == OpTree || o == OpTreePull }

// String returns "none", "lz4" or "Codec(n)".
func (c Codec) String() string {
	switch c {
	case CodecNone:
		return "none"
	case CodecLZ4:
		return "lz4"
	case CodecZero:
		return "zero"
	}
	return fmt.Sprintf("Codec(%d)", uint8(c))
}

func (c Codec) valid() bool { return c == CodecNone || c == CodecLZ4 || c == CodecZero }

// knownFlags is every Open flag this version defines.
const knownFlags = FlagDryRun | FlagWholeFile | FlagNoSparse | FlagNoTimes | FlagNoPerms | FlagAtomic | FlagOwner | FlagNoCache | FlagNoRolling | FlagMinBlock
