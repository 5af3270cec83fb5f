package wire

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"reflect"
	"testing"
	"testing/iotest"
)

// frameHeader returns a frame header announcing an n-byte payload of type t.
func frameHeader(t Type, n uint64) []byte {
	return append(binary.BigEndian.AppendUint32(nil, uint32(n)), byte(t))
}

func TestAppendFrameMatchesWriteFrame(t *testing.T) {
	msgs := append(samples(), &Data{Block: 1, RawLen: 1 << 20, Payload: seq(1<<20, 5)})
	for i, m := range msgs {
		var buf bytes.Buffer
		if err := WriteFrame(&buf, m); err != nil {
			t.Fatalf("%d (%v): %v", i, m.Type(), err)
		}
		want := AppendFrame(nil, m)
		if !bytes.Equal(buf.Bytes(), want) {
			t.Fatalf("%d (%v): WriteFrame and AppendFrame differ", i, m.Type())
		}
		if n := binary.BigEndian.Uint32(want); int(n) != m.Len() || Type(want[frameTypeOff]) != m.Type() {
			t.Fatalf("%d (%v): bad header % x", i, m.Type(), want[:FrameHeaderLen])
		}
	}
}

type recordWriter struct{ writes [][]byte }

func (w *recordWriter) Write(p []byte) (int, error) {
	w.writes = append(w.writes, p)
	return len(p), nil
}

func TestWriteFrameDataNoCopy(t *testing.T) {
	d := &Data{Block: 9, Codec: CodecNone, RawLen: 1 << 20, Payload: seq(1<<20, 1)}
	var w recordWriter
	if err := WriteFrame(&w, d); err != nil {
		t.Fatal(err)
	}
	if len(w.writes) != 2 || len(w.writes[0]) != FrameHeaderLen+DataHeaderLen || &w.writes[1][0] != &d.Payload[0] {
		t.Fatalf("payload was copied: %d writes", len(w.writes))
	}
	small := &Data{Block: 9, Codec: CodecNone, RawLen: 100, Payload: seq(100, 1)}
	w.writes = nil
	if err := WriteFrame(&w, small); err != nil || len(w.writes) != 1 {
		t.Fatalf("small Data: %v, %d writes", err, len(w.writes))
	}
}

type failWriter struct{ err error }

func (w failWriter) Write([]byte) (int, error) { return 0, w.err }

func TestWriteFrameError(t *testing.T) {
	boom := errors.New("boom")
	for _, m := range []Message{NewHello(), &Data{RawLen: 1 << 20, Payload: make([]byte, 1<<20)}} {
		if err := WriteFrame(failWriter{boom}, m); !errors.Is(err, boom) {
			t.Errorf("%v: got %v", m.Type(), err)
		}
	}
}

func TestReadMessageStream(t *testing.T) {
	msgs := samples()
	data, _ := stream(msgs)
	// Insert unknown frames at the start, the middle and the end.
	unknown := append(frameHeader(0x7e, 3), 1, 2, 3)
	empty := frameHeader(0xee, 0)
	var in []byte
	in = append(in, unknown...)
	half, _ := stream(msgs[:len(msgs)/2])
	in = append(in, half...)
	in = append(in, empty...)
	in = append(in, data[len(half):]...)
	in = append(in, unknown...)

	for name, r := range map[string]io.Reader{
		"bytes":   bytes.NewReader(in),
		"onebyte": iotest.OneByteReader(bytes.NewReader(in)),
	} {
		rd := NewReader(r)
		var got []Message
		var skipped []UnknownTypeError
		for {
			m, err := rd.ReadMessage()
			if err == io.EOF {
				break
			}
			var u *UnknownTypeError
			if errors.As(err, &u) {
				skipped = append(skipped, *u)
				continue
			}
			if err != nil {
				t.Fatalf("%s: after %d messages: %v", name, len(got), err)
			}
			got = append(got, m)
		}
		if !reflect.DeepEqual(got, msgs) {
			t.Errorf("%s: messages differ", name)
		}
		want := []UnknownTypeError{{0x7e, 3}, {0xee, 0}, {0x7e, 3}}
		if !reflect.DeepEqual(skipped, want) {
			t.Errorf("%s: skipped %v, want %v", name, skipped, want)
		}
		if _, err := rd.ReadMessage(); err != io.EOF {
			t.Errorf("%s: after EOF: %v", name, err)
		}
	}
}

func TestReadMessageTruncatedStream(t *testing.T) {
	msgs := []Message{
		NewHello(),
		&Data{Block: 2, RawLen: 10, Payload: seq(10, 0)},
		&Verdict{First: 1, Count: 2, Need: []bool{true, false}, Strong: strongs(1)},
	}
	data, ends := stream(msgs)
	for n := 0; n <= len(data); n++ {
		r := NewReader(bytes.NewReader(data[:n]))
		read := 0
		var err error
		for {
			if _, err = r.ReadMessage(); err != nil {
				break
			}
			read++
		}
		complete := 0
		for _, e := range ends {
			if e <= n {
				complete++
			}
		}
		if read != complete {
			t.Fatalf("prefix %d: read %d messages, want %d", n, read, complete)
		}
		atBoundary := n == 0 || (complete > 0 && ends[complete-1] == n)
		if atBoundary {
			if err != io.EOF {
				t.Fatalf("prefix %d: got %v, want io.EOF", n, err)
			}
		} else if !errors.Is(err, ErrTruncated) || !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Fatalf("prefix %d: got %v, want ErrTruncated and io.ErrUnexpectedEOF", n, err)
		}
	}
}

func TestReadMessageOversized(t *testing.T) {
	tests := []struct {
		name string
		in   []byte
	}{
		{"frame 1<<31", frameHeader(TypeData, 1<<31)},
		{"frame max u32", frameHeader(0x99, 1<<32-1)},
		{"frame just over", frameHeader(TypeData, MaxFrameLen+1)},
		{"hello", frameHeader(TypeHello, uint64(helloLen+1))},
		{"verdict", frameHeader(TypeVerdict, MaxFrameLen)},
		{"weakbatch", frameHeader(TypeWeakBatch, weakBatchMaxLen+1)},
		{"data", frameHeader(TypeData, dataMaxLen+1)},
	}
	for _, tt := range tests {
		var err error
		alloc := allocBytes(func() {
			_, err = NewReader(bytes.NewReader(tt.in)).ReadMessage()
		})
		if !errors.Is(err, ErrTooLarge) {
			t.Errorf("%s: got %v, want ErrTooLarge", tt.name, err)
		}
		if alloc > 2*readerBufSize {
			t.Errorf("%s: allocated %d bytes", tt.name, alloc)
		}
	}
	r := NewReader(bytes.NewReader(frameHeader(TypeData, 1<<31)))
	_, err1 := r.ReadMessage()
	_, err2 := r.ReadMessage()
	if err1 == nil || err1 != err2 {
		t.Errorf("error not sticky: %v then %v", err1, err2)
	}
	t.Log(err1)
}

func TestReadMessageMalformed(t *testing.T) {
	hello := NewHello().Append(nil)
	dataFrame := AppendFrame(nil, &Data{Block: 1, RawLen: 4, Payload: []byte{1, 2, 3, 4}})
	// The frame says one byte more than the Data fields do.
	long := append(frameHeader(TypeData, 4+DataHeaderLen+1), dataFrame[FrameHeaderLen:]...)
	long = append(long, 0)
	tests := []struct {
		name string
		in   []byte
		want error
	}{
		{"hello", append(frameHeader(TypeHello, uint64(helloLen)), hello...), nil},
		{"hello short frame", append(frameHeader(TypeHello, uint64(helloLen-1)), hello[:helloLen-1]...), ErrTruncated},
		{"data trailing", long, ErrTrailing},
		{"data short frame", append(frameHeader(TypeData, 4+DataHeaderLen-1), dataFrame[FrameHeaderLen:len(dataFrame)-1]...), ErrTruncated},
		{"data tiny frame", append(frameHeader(TypeData, 3), 1, 2, 3), ErrTruncated},
		{"bad magic", append(frameHeader(TypeHello, uint64(helloLen)), "PDFX\x00\x02\x00\x00\x00\x00\x00\x00\x00\x01"...), ErrBadMagic},
	}
	for _, tt := range tests {
		_, err := NewReader(bytes.NewReader(tt.in)).ReadMessage()
		if tt.want == nil {
			if err != nil {
				t.Errorf("%s: %v", tt.name, err)
			}
			continue
		}
		if !errors.Is(err, tt.want) {
			t.Errorf("%s: got %v, want %v", tt.name, err, tt.want)
		}
	}
	// A fixed-size message in a longer frame is too large; a variable-size
	// one has trailing bytes.
	in := append(frameHeader(TypeHello, uint64(helloLen+1)), append(hello, 0)...)
	if _, err := NewReader(bytes.NewReader(in)).ReadMessage(); !errors.Is(err, ErrTooLarge) {
		t.Errorf("hello with trailing byte: %v", err)
	}
	e := NewError(CodeIO, "x")
	in = append(frameHeader(TypeError, uint64(e.Len()+1)), append(e.Append(nil), 0)...)
	if _, err := NewReader(bytes.NewReader(in)).ReadMessage(); !errors.Is(err, ErrTrailing) {
		t.Errorf("error with trailing byte: %v", err)
	}
}

func TestReadMessageMaxBlockSize(t *testing.T) {
	big := AppendFrame(nil, &Data{Block: 1, RawLen: 8 << 10, Payload: seq(8<<10, 0)})
	lz := AppendFrame(nil, &Data{Block: 1, Codec: CodecLZ4, RawLen: 8 << 10, Payload: seq(10, 0)})
	ok := AppendFrame(nil, &Data{Block: 1, RawLen: 4 << 10, Payload: seq(4<<10, 0)})
	for name, in := range map[string][]byte{"raw": big, "lz4": lz} {
		r := NewReader(bytes.NewReader(in))
		r.SetMaxBlockSize(4 << 10)
		if _, err := r.ReadMessage(); !errors.Is(err, ErrTooLarge) {
			t.Errorf("%s: got %v, want ErrTooLarge", name, err)
		}
	}
	r := NewReader(bytes.NewReader(ok))
	r.SetMaxBlockSize(4 << 10)
	if _, err := r.ReadMessage(); err != nil {
		t.Error(err)
	}
	r = NewReader(bytes.NewReader(big))
	r.SetMaxBlockSize(4 << 10)
	r.SetMaxBlockSize(0) // back to MaxBlockSize
	if _, err := r.ReadMessage(); err != nil {
		t.Error(err)
	}
}

func TestReadMessageDataOwned(t *testing.T) {
	d1 := &Data{Block: 1, RawLen: 100, Payload: seq(100, 1)}
	d2 := &Data{Block: 2, RawLen: 100, Payload: seq(100, 2)}
	data, _ := stream([]Message{d1, d2, d1})
	r := NewReader(bytes.NewReader(data))
	var got []*Data
	for range 3 {
		m, err := r.ReadMessage()
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, m.(*Data))
	}
	if !reflect.DeepEqual(got, []*Data{d1, d2, d1}) {
		t.Fatal("payloads changed by later reads")
	}
	if cap(got[0].Payload) != len(got[0].Payload) {
		t.Errorf("payload capacity %d for length %d", cap(got[0].Payload), len(got[0].Payload))
	}

	var asked []int
	r = NewReader(bytes.NewReader(data))
	r.SetAlloc(func(n int) []byte { asked = append(asked, n); return make([]byte, 0, n+10) })
	m, err := r.ReadMessage()
	if err != nil || !reflect.DeepEqual(m, d1) || !reflect.DeepEqual(asked, []int{100}) {
		t.Fatalf("SetAlloc: %v, %v, asked %v", m, err, asked)
	}
}

type errAfter struct {
	data []byte
	err  error
}

func (r *errAfter) Read(p []byte) (int, error) {
	if len(r.data) == 0 {
		return 0, r.err
	}
	n := copy(p, r.data)
	r.data = r.data[n:]
	return n, nil
}

func TestReadMessageIOError(t *testing.T) {
	boom := errors.New("stream reset")
	data, _ := stream([]Message{&Data{Block: 2, RawLen: 100, Payload: seq(100, 0)}})
	for _, n := range []int{0, 2, FrameHeaderLen, FrameHeaderLen + 3, len(data) - 1} {
		r := NewReader(&errAfter{data: data[:n], err: boom})
		if _, err := r.ReadMessage(); !errors.Is(err, boom) {
			t.Errorf("after %d bytes: got %v", n, err)
		}
	}
}

func TestWriteFrameNetConn(t *testing.T) {
	c1, c2 := net.Pipe()
	d := &Data{Block: 3, RawLen: 64 << 10, Payload: seq(64<<10, 3)}
	go func() {
		WriteFrame(c1, d)
		c1.Close()
	}()
	m, err := NewReader(c2).ReadMessage()
	if err != nil || !reflect.DeepEqual(m, d) {
		t.Fatalf("got %v", err)
	}
}
