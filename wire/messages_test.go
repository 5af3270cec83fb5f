package wire

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestRoundTrip(t *testing.T) {
	seen := map[Type]bool{}
	for i, m := range samples() {
		seen[m.Type()] = true
		if err := m.(validator).Validate(); err != nil {
			t.Fatalf("sample %d (%v): Validate: %v", i, m.Type(), err)
		}
		b := m.Append(nil)
		if len(b) != m.Len() {
			t.Errorf("sample %d (%v): Len %d, encoded %d bytes", i, m.Type(), m.Len(), len(b))
		}
		if max, _ := maxPayloadLen(m.Type()); len(b) > max {
			t.Errorf("sample %d (%v): %d bytes exceed type maximum %d", i, m.Type(), len(b), max)
		}
		prefix := []byte("prefix")
		if got := m.Append(prefix); !bytes.Equal(got, append(prefix, b...)) {
			t.Errorf("sample %d (%v): Append does not append", i, m.Type())
		}
		got, err := Decode(m.Type(), b)
		if err != nil {
			t.Fatalf("sample %d (%v): Decode: %v", i, m.Type(), err)
		}
		if !reflect.DeepEqual(got, m) {
			t.Errorf("sample %d (%v): decoded %+v, want %+v", i, m.Type(), got, m)
		}
		if again := got.Append(nil); !bytes.Equal(again, b) {
			t.Errorf("sample %d (%v): re-encoding differs", i, m.Type())
		}
	}
	for typ := Type(0); typ < 0xff; typ++ {
		if _, known := maxPayloadLen(typ); known && !seen[typ] {
			t.Errorf("no sample of %v", typ)
		}
	}
}

func TestFramePayloadsFit(t *testing.T) {
	for typ := Type(0); typ < 0xff; typ++ {
		if max, known := maxPayloadLen(typ); known && max > MaxFrameLen {
			t.Errorf("%v: largest payload %d exceeds MaxFrameLen %d", typ, max, MaxFrameLen)
		}
	}
}

func TestTruncatedPrefixes(t *testing.T) {
	for i, m := range samples() {
		b := m.Append(nil)
		for n := 0; n < len(b); n++ {
			_, err := Decode(m.Type(), b[:n])
			if _, ok := m.(*OpenReply); ok && n >= openReplyLen && (err == nil || errors.Is(err, ErrTrailing)) {
				continue // cut in the optional RecordDigest: bytes after an OpenReply without it
			}
			if !errors.Is(err, ErrTruncated) {
				t.Fatalf("sample %d (%v): %d-byte prefix of %d: got %v, want ErrTruncated", i, m.Type(), n, len(b), err)
			}
		}
	}
}

func TestTrailingBytes(t *testing.T) {
	for i, m := range samples() {
		b := append(m.Append(nil), 0)
		_, err := Decode(m.Type(), b)
		if !errors.Is(err, ErrTrailing) {
			t.Errorf("sample %d (%v): got %v, want ErrTrailing", i, m.Type(), err)
		}
	}
}

func TestDecodeUnknownType(t *testing.T) {
	_, err := Decode(0x7f, []byte{1, 2, 3})
	var u *UnknownTypeError
	if !errors.As(err, &u) || u.Type != 0x7f || u.Len != 3 {
		t.Fatalf("got %v, want *UnknownTypeError{0x7f, 3}", err)
	}
}

// TestInvalid checks that invalid messages are refused by Validate and
// WriteFrame, and that their encodings do not decode.
func TestInvalid(t *testing.T) {
	okOpen := func() *Open { return &Open{Op: OpPush, BlockSize: 1 << 20, Workers: 4} }
	mod := func(f func(o *Open)) *Open { o := okOpen(); f(o); return o }
	tests := []struct {
		m    Message
		want error
	}{
		{mod(func(o *Open) { o.Op = 0 }), ErrInvalid},
		{mod(func(o *Open) { o.Op = 5 }), ErrInvalid},
		{mod(func(o *Open) { o.Size = -1 }), ErrInvalid},
		{mod(func(o *Open) { o.BlockSize = 0 }), ErrInvalid},
		{mod(func(o *Open) { o.BlockSize = MinBlockSize - 1 }), ErrInvalid},
		{mod(func(o *Open) { o.BlockSize = MaxBlockSize + 1 }), ErrInvalid},
		{mod(func(o *Open) { o.Workers = 0 }), ErrInvalid},
		{mod(func(o *Open) { o.Workers = MaxWorkers + 1 }), ErrInvalid},
		{mod(func(o *Open) { o.Codec = 2 }), ErrInvalid},
		{mod(func(o *Open) { o.Flags = 1 << 9 }), ErrInvalid},
		{mod(func(o *Open) { o.Flags = 9 << flagMinBlockShift }), ErrInvalid}, // 2 MiB sub-blocks of 1 MiB blocks
		{mod(func(o *Open) { o.Flags = 15 << flagMinBlockShift; o.BlockSize = MaxBlockSize }), ErrInvalid},
		{mod(func(o *Open) { o.Path = strings.Repeat("p", MaxPathLen+1) }), ErrTooLarge},
		{&OpenReply{Size: -1, Workers: 1}, ErrInvalid},
		{&OpenReply{Workers: 0}, ErrInvalid},
		{&OpenReply{Workers: 0, RecordDigest: [DigestSize]byte{5: 1}}, ErrInvalid},
		{&OpenReply{Workers: MaxWorkers + 1}, ErrInvalid},
		{&Attach{Worker: MaxWorkers}, ErrInvalid},
		{&Error{Code: 0, Message: "x"}, ErrInvalid},
		{&Error{Code: 1, Message: strings.Repeat("m", MaxErrorLen+1)}, ErrTooLarge},
		{&WeakBatch{Hashes: make([]uint64, MaxBatch+1)}, ErrTooLarge},
		{&WeakBatch{First: 1<<64 - 2, Hashes: make([]uint64, 2)}, ErrInvalid},
		{&Verdict{Count: MaxBatch + 1}, ErrTooLarge},
		{&Verdict{First: 1<<64 - 1, Count: 1, Need: []bool{true}}, ErrInvalid},
		{&Verdict{Count: 2, Need: []bool{true}}, ErrInvalid},
		{&Verdict{Count: 1, Need: []bool{false}}, ErrInvalid},
		{&Verdict{Count: 1, Need: []bool{true}, Strong: strongs(1)}, ErrInvalid},
		{&Data{Codec: 5, RawLen: 1, Payload: []byte{1}}, ErrInvalid},
		{&Data{Codec: CodecNone, RawLen: 0}, ErrInvalid},
		{&Data{Codec: CodecNone, RawLen: 2, Payload: []byte{1}}, ErrInvalid},
		{&Data{Codec: CodecLZ4, RawLen: 2, Payload: []byte{1, 2, 3}}, ErrTooLarge},
		{&Data{Codec: CodecLZ4, RawLen: 2}, ErrInvalid},
		{&Data{Codec: CodecZero, RawLen: 2, Payload: []byte{0}}, ErrInvalid},
		{mod(func(o *Open) { o.Start, o.End = 8192, 4096 }), ErrInvalid},
		{mod(func(o *Open) { o.Start = -1 }), ErrInvalid},
		{&Data{Codec: CodecLZ4, RawLen: MaxBlockSize + 1, Payload: []byte{1}}, ErrTooLarge},
		{&Final{Size: -1}, ErrInvalid},
		{&Report{Cache: CacheResume + 1}, ErrInvalid},
		{&Refine{SubSize: MinBlockSize - 1}, ErrInvalid},
		{&Refine{SubSize: 3 * MinBlockSize}, ErrInvalid},
		{&Refine{SubSize: MaxBlockSize}, ErrInvalid},
		{&Refine{SubSize: MinBlockSize, Blocks: make([]RefineBlock, MaxBatch+1)}, ErrTooLarge},
		{&Refine{SubSize: MinBlockSize, Blocks: []RefineBlock{refineBlock(MaxBatch, 2)}}, ErrTooLarge},
		{&Refine{SubSize: MinBlockSize, Blocks: []RefineBlock{refineBlock(2, 2), refineBlock(2, 2)}}, ErrInvalid},
		{&Refine{SubSize: MinBlockSize, Blocks: []RefineBlock{refineBlock(3, 2), refineBlock(1, 2)}}, ErrInvalid},
		{&Refine{SubSize: MinBlockSize, Blocks: []RefineBlock{refineBlock(0, 1)}}, ErrInvalid},
		{&Refine{SubSize: MinBlockSize, Blocks: []RefineBlock{refineBlock(0, MaxSubBlocks+1)}}, ErrInvalid},
		{&Refine{SubSize: MinBlockSize, Blocks: []RefineBlock{refineBlock(0, MaxSubBlocks), refineBlock(1, 2)}}, ErrTooLarge},
		{&Refine{First: 1<<64 - 1, SubSize: MinBlockSize, Blocks: []RefineBlock{refineBlock(1, 2)}}, ErrInvalid},
		{&SubData{Offset: 1, Codec: CodecNone, RawLen: 1, Payload: []byte{1}}, ErrInvalid},
		{&SubData{Offset: MaxBlockSize, Codec: CodecZero, RawLen: 1}, ErrInvalid},
		{&SubData{Offset: MaxBlockSize - MinBlockSize, Codec: CodecZero, RawLen: MinBlockSize + 1}, ErrInvalid},
		{&SubData{Codec: CodecZero, RawLen: MaxBlockSize/2 + 1}, ErrTooLarge},
		{&SubData{Codec: CodecNone, RawLen: 2, Payload: []byte{1}}, ErrInvalid},
		{&SubData{Codec: 7, RawLen: 1, Payload: []byte{1}}, ErrInvalid},
	}
	for i, tt := range tests {
		err := tt.m.(validator).Validate()
		if !errors.Is(err, tt.want) {
			t.Errorf("%d (%v): Validate: got %v, want %v", i, tt.m.Type(), err, tt.want)
			continue
		}
		if !strings.HasPrefix(err.Error(), "wire: "+tt.m.Type().String()+": ") {
			t.Errorf("%d: error %q does not name the message type", i, err)
		}
		var buf bytes.Buffer
		if err := WriteFrame(&buf, tt.m); !errors.Is(err, tt.want) || buf.Len() != 0 {
			t.Errorf("%d (%v): WriteFrame: got %v and %d bytes written", i, tt.m.Type(), err, buf.Len())
		}
		if _, err := Decode(tt.m.Type(), tt.m.Append(nil)); err == nil {
			t.Errorf("%d (%v): encoding of invalid message decodes", i, tt.m.Type())
		}
	}
}

// TestDecodeMalformed feeds hand-made payloads that no valid message encodes to.
func TestDecodeMalformed(t *testing.T) {
	be := binary.BigEndian
	dataHdr := func(codec Codec, raw, n uint32) []byte {
		b := be.AppendUint64(nil, 1)
		b = append(b, byte(codec))
		b = be.AppendUint32(b, raw)
		return be.AppendUint32(b, n)
	}
	tests := []struct {
		name string
		t    Type
		b    []byte
		want error
		msg  string
	}{
		{"bad magic", TypeHello, []byte("PDFB\x00\x01"), ErrBadMagic, `wire: Hello: bad magic "PDFB", want "PDFA"`},
		{"path too long", TypeOpen, append(make([]byte, openPathOff), 0x10, 0x01), ErrTooLarge, "wire: Open: path length 4097 exceeds maximum 4096"},
		{"message too long", TypeError, []byte{0, 1, 0xff, 0xff}, ErrTooLarge, "wire: Error: message length 65535 exceeds maximum 4096"},
		{"batch count", TypeWeakBatch, be.AppendUint32(make([]byte, 8), 1<<31), ErrTooLarge, "wire: WeakBatch: count 2147483648 exceeds maximum 4096"},
		{"verdict count", TypeVerdict, be.AppendUint32(make([]byte, 8), MaxBatch+1), ErrTooLarge, ""},
		{"verdict tail bits", TypeVerdict, append(be.AppendUint32(make([]byte, 8), 3), 0x0f), ErrInvalid, "wire: Verdict: bitmap bits set past count 3"},
		{"verdict high tail bit", TypeVerdict, append(be.AppendUint32(make([]byte, 8), 7), 0x80), ErrInvalid, ""},
		{"verdict missing strong", TypeVerdict, append(be.AppendUint32(make([]byte, 8), 2), 0x01), ErrTruncated, ""},
		{"data raw too large", TypeData, dataHdr(CodecNone, 99999999, 99999999), ErrTooLarge, "wire: Data: raw length 99999999 exceeds maximum 67108864"},
		{"data payload > raw", TypeData, append(dataHdr(CodecLZ4, 1, 2), 1, 2), ErrTooLarge, "wire: Data: payload length 2 exceeds maximum 1"},
		{"data none short", TypeData, append(dataHdr(CodecNone, 3, 2), 1, 2), ErrInvalid, ""},
		{"data codec", TypeData, append(dataHdr(9, 1, 1), 1), ErrInvalid, "wire: Data: unknown codec 9"},
		{"data huge announce", TypeData, dataHdr(CodecNone, MaxBlockSize, MaxBlockSize), ErrTruncated, ""},
	}
	for _, tt := range tests {
		_, err := Decode(tt.t, tt.b)
		if !errors.Is(err, tt.want) {
			t.Errorf("%s: got %v, want %v", tt.name, err, tt.want)
			continue
		}
		if tt.msg != "" && err.Error() != tt.msg {
			t.Errorf("%s: message %q, want %q", tt.name, err, tt.msg)
		}
		if got := allocBytes(func() { Decode(tt.t, tt.b) }); got > 4096 {
			t.Errorf("%s: rejecting allocated %d bytes", tt.name, got)
		}
	}
}

// allocBytes returns the bytes f allocates, on average over a few runs.
func allocBytes(f func()) uint64 {
	const runs = 10
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for range runs {
		f()
	}
	runtime.ReadMemStats(&after)
	return (after.TotalAlloc - before.TotalAlloc) / runs
}

func TestCheckHello(t *testing.T) {
	if err := CheckHello(*NewHello()); err != nil {
		t.Fatalf("own hello: %v", err)
	}
	for _, v := range []uint16{0, ProtocolVersion + 1, 0xffff} {
		err := CheckHello(Hello{Version: v})
		if !errors.Is(err, ErrVersion) {
			t.Fatalf("version %d: got %v, want ErrVersion", v, err)
		}
		t.Log(err)
	}
	err := CheckHello(Hello{Version: ProtocolVersion + 1})
	if want := fmt.Sprintf("wire: Hello: peer speaks protocol version %d, this agent speaks version %d (upgrade this side)",
		ProtocolVersion+1, ProtocolVersion); err.Error() != want {
		t.Errorf("got %q, want %q", err, want)
	}
}

func TestErrorMessage(t *testing.T) {
	var err error = &Error{Code: CodeNotFound, Message: "no such file"}
	if got, want := err.Error(), "peer: no such file (code 2)"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	var m Message = NewError(CodeIO, "x")
	if m.Type() != TypeError {
		t.Errorf("NewError type %v", m.Type())
	}
	long := strings.Repeat("a", MaxErrorLen-1) + "€€"
	e := NewError(CodeIO, long)
	if len(e.Message) != MaxErrorLen-1 || !utf8.ValidString(e.Message) {
		t.Errorf("NewError kept %d bytes (valid UTF-8: %v)", len(e.Message), utf8.ValidString(e.Message))
	}
	if err := e.Validate(); err != nil {
		t.Error(err)
	}
	if short := NewError(CodeIO, "short"); short.Message != "short" {
		t.Errorf("NewError changed a short message: %q", short.Message)
	}
}

func TestStrings(t *testing.T) {
	for typ, want := range map[Type]string{TypeHello: "Hello", TypeFinalAck: "FinalAck", 0x42: "Type(0x42)"} {
		if got := typ.String(); got != want {
			t.Errorf("%d: got %q, want %q", typ, got, want)
		}
	}
	if OpPull.String() != "pull" || Op(9).String() != "Op(9)" || CodecLZ4.String() != "lz4" || Codec(7).String() != "Codec(7)" {
		t.Error("Op or Codec String")
	}
	if got := (&UnknownTypeError{Type: 0x42, Len: 7}).Error(); got != "wire: unknown message type 0x42 (7-byte payload)" {
		t.Errorf("UnknownTypeError: %q", got)
	}
}

// TestOpenMinBlock: the sub-block size rides in Open's FlagMinBlock field,
// every size from MinBlockSize to MaxBlockSize, leaving the other flags as
// they are.
func TestOpenMinBlock(t *testing.T) {
	for n := uint32(MinBlockSize); n <= MaxBlockSize; n *= 2 {
		o := &Open{Op: OpPush, BlockSize: MaxBlockSize, Workers: 1, Flags: FlagDryRun | FlagNoRolling}
		o.SetMinBlock(n)
		got, _, err := parseOpen(o.Append(nil))
		if err != nil {
			t.Fatalf("min block %d: %v", n, err)
		}
		if got.MinBlock() != n || got.Flags&^FlagMinBlock != FlagDryRun|FlagNoRolling {
			t.Fatalf("min block %d: got %d, flags %#x", n, got.MinBlock(), got.Flags)
		}
	}
	if o := (&Open{}); o.MinBlock() != MinBlockSize {
		t.Fatalf("default min block %d, want %d", o.MinBlock(), MinBlockSize)
	}
}
