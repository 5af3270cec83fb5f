package engine

import "github.com/pdiffagent/pdiffagent/wire"

// Stream is one worker's ordered, bidirectional message channel to the
// other side. The network layer implements it over a QUIC stream or a TCP
// connection; Pipe implements it in memory for local syncs and tests.
//
// Messages are pointers to wire message types (*wire.WeakBatch, *wire.Data…).
// The engine calls Send from one goroutine at a time and Recv from one
// goroutine at a time (the two may run concurrently). Send takes ownership of
// the message and any payload it carries; Recv hands the caller ownership of
// what it returns. A *wire.Error that arrives is returned by Recv as an
// ordinary message; the engine turns it into a *PeerError.
type Stream interface {
	Send(m wire.Message) error
	Recv() (wire.Message, error)
	// CloseSend tells the peer nothing more will be sent on this stream.
	CloseSend() error
	// Abort tears the stream down at once: pending and future Send and Recv
	// calls fail. It is safe to call concurrently with them, and repeatedly.
	// The engine aborts every stream of a failed or cancelled session so that
	// no goroutine stays blocked.
	Abort(err error)
}
