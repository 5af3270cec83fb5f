package engine

import (
	"bufio"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"io"
	"sync/atomic"

	"github.com/pdiffagent/pdiffagent/wire"
)

// Pipe mode is the daemon-less split of blockcopy:
//
//	pdiffagent checksum DST | ssh src pdiffagent retrieve SRC | pdiffagent save DST
//
// Each stage talks to the next over a one-way byte pipe (wire/pipe.go), so
// nothing is negotiated and no verdict comes back. Checksum therefore sends
// both tiers at once: for every block of the target, its xxhash64 and its
// strong hash. Retrieve reads the source: a block whose weak hash differs is
// changed (certain, never strong-hashed for the comparison); one whose weak
// hash matches is strong-hashed and kept only if that matches too (a weak
// collision is counted and sent). Changed blocks go to save as Data (lz4
// when asked and it shrinks them, zero blocks without payload), in order.
// The stream ends with an end-to-end digest: the sha256 of the strong hashes
// of every source block of the range, in order. Retrieve must thus
// strong-hash changed blocks too, and save re-reads and strong-hashes the
// whole range of the target after writing it: the price of a one-way pipe
// is that extra read of the target and the strong hash of every block.
// Save fsyncs and reports success only when the digests agree. Checksum
// cannot know where the source ends, so a source whose size is not a
// multiple of the block size has its short last block sent whenever the
// target extends past it.
//
// Save writes into the file that checksum is still reading, safely: Data
// for block i leaves retrieve only after checksum's hashes for block i
// arrived, so save never touches a block checksum has yet to read, and it
// truncates only after the whole checksum stream was consumed.
//
// Every stage runs its blocks through ordered: batches of consecutive
// blocks go to Params.Workers goroutines and their results come out in
// order, through bounded queues, so memory does not grow with the file.
// A stream without its final frame was cut: the reader says so, and
// because checksum re-reads the whole target, rerunning the pipeline
// repairs whatever a cut left half-written.

// pipeWriteBuf buffers a pipe-mode stage's output.
const pipeWriteBuf = 256 << 10

// TruncatedError is a pipe-mode stream that ended without its final frame:
// the stage that wrote it died or the pipe was cut.
type TruncatedError struct {
	Stream string // the stage that wrote the stream: "checksum" or "retrieve"
	Blocks int64  // blocks (hashes for checksum) that arrived before the cut
	Err    error  // what the read returned: io.EOF or a wire error
}

func (e *TruncatedError) Error() string {
	what := "blocks"
	if e.Stream == "checksum" {
		what = "block hashes"
	}
	return fmt.Sprintf("%s stream truncated after %d %s: rerun to repair", e.Stream, e.Blocks, what)
}

func (e *TruncatedError) Unwrap() error { return e.Err }

// isCut reports whether a read error means that the stream just stopped.
func isCut(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)
}

// pipeDigest is the end-to-end digest's hash, whatever the strong hash.
func pipeDigest() hash.Hash { return sha256.New() }

// pipeParams fills p's defaults for pipe mode and checks what checksum
// decides for the whole pipeline; the range is bound to a size by the
// later stages. Checksum cannot know where the source ends, so End must be
// on the grid too.
func pipeParams(p Params) (Params, error) {
	var err error
	if p.Session, err = p.Session.Normalize(); err != nil {
		return p, err
	}
	bs := int64(p.BlockSize)
	if p.CheckRange(p.BlockSize) != nil || p.End%bs != 0 || (p.End != 0 && p.End == p.Start) {
		return p, fmt.Errorf("range [%d, %d): start and end must be multiples of the block size %d, end past start", p.Start, p.End, bs)
	}
	return p, nil
}

// span is a run of consecutive blocks.
type span struct {
	first int64
	n     int
}

// spans yields [first, end) in spans of at most per blocks.
func spans(first, end int64, per int) func(context.Context) (span, bool, error) {
	return func(context.Context) (span, bool, error) {
		if first >= end {
			return span{}, false, nil
		}
		s := span{first: first, n: int(min(int64(per), end-first))}
		first += int64(s.n)
		return s, true, nil
	}
}

// spanBlocks is how many blocks a pipe-mode batch holds.
func spanBlocks(blockSize int) int { return min(batchBlocks(blockSize), wire.MaxBatch) }

// blockRange is the blocks [first, end) of the bytes [start, stop).
func blockRange(start, stop int64, blockSize int) (first, end int64) {
	bs := int64(blockSize)
	first = start / bs
	if stop <= start {
		return first, first
	}
	return first, (stop + bs - 1) / bs
}

// pipeInput reads a stream's messages in a goroutine of its own, so that a
// stage waiting for input can give up when its context ends: a read blocked
// in a pipe cannot be interrupted, and that goroutine ends only once the
// read returns (the upstream writes or dies). Unknown message types are
// skipped; a wire.Error becomes a *PeerError.
type pipeInput struct {
	ch   chan pipeMsg // the goroutine sends; it stops after an error
	stop chan struct{}
}

type pipeMsg struct {
	m   wire.Message
	err error
}

// startInput starts reading rd. Each message is first passed to hook,
// in the reading goroutine, which may configure rd for what follows.
func startInput(rd *wire.Reader, hook func(wire.Message)) *pipeInput {
	in := &pipeInput{ch: make(chan pipeMsg), stop: make(chan struct{})}
	go func() {
		for {
			m, err := rd.ReadMessage()
			var unknown *wire.UnknownTypeError
			if errors.As(err, &unknown) {
				continue
			}
			if e, ok := m.(*wire.Error); ok {
				m, err = nil, &PeerError{Code: e.Code, Message: e.Message}
			}
			if err == nil && hook != nil {
				hook(m)
			}
			select {
			case in.ch <- pipeMsg{m, err}:
			case <-in.stop:
				return
			}
			if err != nil {
				return
			}
		}
	}()
	return in
}

func (in *pipeInput) next(ctx context.Context) (wire.Message, error) {
	select {
	case x := <-in.ch:
		return x.m, x.err
	case <-ctx.Done():
		return nil, context.Cause(ctx)
	}
}

// close lets the reading goroutine go once its current read returns.
func (in *pipeInput) close() { close(in.stop) }

// readStart reads a stream's Hello and its header, of type want. stage
// names the writer in errors.
func readStart(ctx context.Context, in *pipeInput, stage string, want wire.Type) (wire.Message, error) {
	m, err := in.next(ctx)
	if errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("no input: `pdiffagent %s` sent nothing (did it fail?)", stage)
	}
	if err != nil {
		return nil, startErr(stage, err)
	}
	h, ok := m.(*wire.Hello)
	if !ok {
		return nil, fmt.Errorf("input is not a pdiffagent %s stream (it starts with %v)", stage, m.Type())
	}
	if err := wire.CheckHello(*h); err != nil {
		return nil, err
	}
	if m, err = in.next(ctx); err != nil {
		return nil, startErr(stage, err)
	}
	if m.Type() != want {
		return nil, protocolErrorf("%s stream starts with %v, want %v", stage, m.Type(), want)
	}
	return m, nil
}

func startErr(stage string, err error) error {
	if isCut(err) {
		return &TruncatedError{Stream: stage, Err: err}
	}
	return err
}

// writeFailure ends a stream with an Error frame saying why, best effort:
// the pipe may be what failed. A peer's report is passed on as it came.
func writeFailure(bw *bufio.Writer, err error) {
	code, msg := errorCode(err), err.Error()
	var pe *PeerError
	if errors.As(err, &pe) {
		code, msg = pe.Code, pe.Message
	}
	if wire.WriteFrame(bw, wire.NewError(code, msg)) == nil {
		bw.Flush()
	}
}

// writeFrames writes ms to bw.
func writeFrames(bw *bufio.Writer, ms ...wire.Message) error {
	for _, m := range ms {
		if err := wire.WriteFrame(bw, m); err != nil {
			return err
		}
	}
	return nil
}

// byteCounter counts the bytes that pass through a pipe-mode stream, for
// Stats.BytesWire. The input side is read from a goroutine of its own.
type byteCounter struct {
	r io.Reader
	w io.Writer
	n atomic.Int64
}

func (c *byteCounter) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

func (c *byteCounter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n.Add(int64(n))
	return n, err
}
