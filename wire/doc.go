// Package wire owns pdiffagent's binary protocol: the messages two agents
// exchange and their framing. It imports only the standard library.
//
// A frame is a 5-byte header — a 4-byte big-endian payload length and a
// 1-byte message type — followed by the payload. Every length read from the
// network is checked against a declared maximum (MaxFrameLen and the per-field
// Max… constants) before any buffer is allocated. Unknown message types are
// skipped so that later versions can add messages; the Hello that opens every
// stream carries the protocol version, which both sides check.
package wire
