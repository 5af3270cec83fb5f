package wire

import (
	"io"
	"testing"
)

// repeatReader returns data over and over.
type repeatReader struct {
	data []byte
	off  int
}

func (r *repeatReader) Read(p []byte) (int, error) {
	n := copy(p, r.data[r.off:])
	r.off = (r.off + n) % len(r.data)
	return n, nil
}

func benchData() *Data {
	const size = 1 << 20
	return &Data{Block: 12345, Codec: CodecNone, RawLen: size, Payload: seq(size, 0)}
}

func benchWeakBatch() *WeakBatch {
	return &WeakBatch{First: 1 << 30, Hashes: hashes(MaxBatch)}
}

func benchAppend(b *testing.B, m Message) {
	buf := AppendFrame(nil, m)
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	for b.Loop() {
		buf = AppendFrame(buf[:0], m)
	}
}

func benchWrite(b *testing.B, m Message) {
	b.SetBytes(int64(FrameHeaderLen + m.Len()))
	b.ReportAllocs()
	for b.Loop() {
		if err := WriteFrame(io.Discard, m); err != nil {
			b.Fatal(err)
		}
	}
}

func benchDecode(b *testing.B, m Message) {
	payload := m.Append(nil)
	b.SetBytes(int64(len(payload)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Decode(m.Type(), payload); err != nil {
			b.Fatal(err)
		}
	}
}

func benchRead(b *testing.B, m Message) {
	frame := AppendFrame(nil, m)
	r := NewReader(&repeatReader{data: frame})
	b.SetBytes(int64(len(frame)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := r.ReadMessage(); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDataAppendFrame(b *testing.B)      { benchAppend(b, benchData()) }
func BenchmarkDataWriteFrame(b *testing.B)       { benchWrite(b, benchData()) }
func BenchmarkDataDecode(b *testing.B)           { benchDecode(b, benchData()) }
func BenchmarkDataReadMessage(b *testing.B)      { benchRead(b, benchData()) }
func BenchmarkWeakBatchAppendFrame(b *testing.B) { benchAppend(b, benchWeakBatch()) }
func BenchmarkWeakBatchWriteFrame(b *testing.B)  { benchWrite(b, benchWeakBatch()) }
func BenchmarkWeakBatchDecode(b *testing.B)      { benchDecode(b, benchWeakBatch()) }
func BenchmarkWeakBatchReadMessage(b *testing.B) { benchRead(b, benchWeakBatch()) }

func BenchmarkVerdictReadMessage(b *testing.B) {
	benchRead(b, verdict(0, MaxBatch, func(i int) bool { return i%16 == 0 }))
}
