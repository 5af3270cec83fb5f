package wire

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"runtime"
	"testing"
)

// Allocation bounds: whatever a peer announces, a Reader allocates at most
// its buffer plus the declared maximum of the frame's type (the largest
// valid payload; for Data the block size limit), and only once the bytes
// that justify it are announced; decoders allocate in proportion to the
// payload they were given.

// allocSlack covers error values and the rounding of large allocations to
// whole pages.
const allocSlack = 16 << 10

// knownTypes is every message type this version decodes.
func knownTypes() []Type {
	var ts []Type
	for t := range 256 {
		if _, ok := maxPayloadLen(Type(t)); ok {
			ts = append(ts, Type(t))
		}
	}
	return ts
}

// maxNonDataPayload is the most a Reader's reused payload buffer holds.
func maxNonDataPayload() int {
	n := 0
	for _, t := range knownTypes() {
		if m, _ := maxPayloadLen(t); t != TypeData {
			n = max(n, m)
		}
	}
	return n
}

// readAlloc reads one message from a fresh Reader over in (block size limit
// maxBlock) and returns the error and the bytes allocated, Reader included.
func readAlloc(in []byte, maxBlock int) (error, uint64) {
	var err error
	alloc := allocBytes(func() {
		r := NewReader(bytes.NewReader(in))
		r.SetMaxBlockSize(maxBlock)
		_, err = r.ReadMessage()
	})
	return err, alloc
}

func TestReaderAllocBound(t *testing.T) {
	const maxBlock = MinBlockSize
	for _, typ := range knownTypes() {
		declared, _ := maxPayloadLen(typ)
		if typ == TypeData {
			declared = DataHeaderLen + maxBlock
		}
		if typ == TypeSubData {
			declared = subDataHeaderLen + maxBlock/2
		}
		for _, n := range []uint64{uint64(declared) + 1, MaxFrameLen, MaxFrameLen + 1, 1<<32 - 1} {
			err, alloc := readAlloc(frameHeader(typ, n), maxBlock)
			if !errors.Is(err, ErrTooLarge) {
				t.Errorf("%v announcing %d bytes: %v, want ErrTooLarge", typ, n, err)
			}
			if alloc > readerBufSize+allocSlack {
				t.Errorf("%v announcing %d bytes: refusing it allocated %d bytes", typ, n, alloc)
			}
		}
		// The largest valid announcement, then nothing: at most the
		// declared maximum is taken.
		err, alloc := readAlloc(frameHeader(typ, uint64(declared)), maxBlock)
		if !errors.Is(err, ErrTruncated) {
			t.Errorf("%v announcing its maximum then ending: %v, want ErrTruncated", typ, err)
		}
		if alloc > uint64(readerBufSize+declared+allocSlack) {
			t.Errorf("%v announcing its maximum %d: allocated %d bytes", typ, declared, alloc)
		}
	}
}

// TestReaderDataAllocBound: a Data frame's block buffer is taken only after
// its fields were read and checked against the block size limit.
func TestReaderDataAllocBound(t *testing.T) {
	dataFrame := func(raw, plen uint32, codec Codec) []byte {
		b := frameHeader(TypeData, uint64(DataHeaderLen)+uint64(plen))
		b = binary.BigEndian.AppendUint64(b, 1)
		b = append(b, byte(codec))
		b = binary.BigEndian.AppendUint32(b, raw)
		return binary.BigEndian.AppendUint32(b, plen)
	}
	const maxBlock = 64 << 10
	for _, tt := range []struct {
		name  string
		in    []byte
		want  error
		bound uint64
	}{
		{"raw length beyond the block size", dataFrame(MaxBlockSize, 16, CodecLZ4), ErrTooLarge, 0},
		{"payload beyond raw length", dataFrame(16, maxBlock, CodecLZ4), ErrTooLarge, 0},
		{"full block announced, none sent", dataFrame(maxBlock, maxBlock, CodecNone), ErrTruncated, maxBlock},
		{"zero block with a payload", dataFrame(maxBlock, maxBlock, CodecZero), ErrInvalid, 0},
		{"unknown codec", dataFrame(maxBlock, maxBlock, 7), ErrInvalid, 0},
	} {
		err, alloc := readAlloc(tt.in, maxBlock)
		if !errors.Is(err, tt.want) {
			t.Errorf("%s: %v, want %v", tt.name, err, tt.want)
		}
		if alloc > readerBufSize+allocSlack+tt.bound {
			t.Errorf("%s: allocated %d bytes, bound %d", tt.name, alloc, readerBufSize+allocSlack+tt.bound)
		}
	}
}

// TestReaderBufferBounded: reading many frames of every type, the Reader's
// reused buffer never exceeds the largest declared payload.
func TestReaderBufferBounded(t *testing.T) {
	all, _ := stream(samples())
	r := NewReader(bytes.NewReader(all))
	for {
		if _, err := r.ReadMessage(); err != nil {
			break
		}
		if cap(r.buf) > maxNonDataPayload() {
			t.Fatalf("payload buffer grew to %d bytes, maximum %d", cap(r.buf), maxNonDataPayload())
		}
	}
}

// TestDecodeAllocProportional: on random payloads, no decoder allocates
// more than a small multiple of what it was given (a Verdict's need flags
// are one bool per bitmap bit, so 8 bytes per payload byte).
func TestDecodeAllocProportional(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, typ := range knownTypes() {
		for range 50 {
			p := make([]byte, rng.IntN(512))
			for i := range p {
				p[i] = byte(rng.Uint32())
			}
			if len(p) >= 12 && rng.IntN(2) == 0 {
				binary.BigEndian.PutUint32(p[8:], uint32(rng.IntN(MaxBatch+2))) // a plausible count
			}
			if alloc := allocated(func() { Decode(typ, p) }); alloc > uint64(8*len(p)+allocSlack) {
				t.Errorf("%v: %d-byte payload % x…: allocated %d bytes", typ, len(p), p[:min(len(p), 16)], alloc)
			}
		}
	}
}

// allocated is allocBytes without the GC first: TotalAlloc counts every
// allocation whether collected or not.
func allocated(f func()) uint64 {
	const runs = 4
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for range runs {
		f()
	}
	runtime.ReadMemStats(&after)
	return (after.TotalAlloc - before.TotalAlloc) / runs
}
