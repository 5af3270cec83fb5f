package wire

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The seed corpora of FuzzDecode and FuzzReadMessage live in
// testdata/fuzz/<target>/, where `go test` runs them as ordinary tests and
// `make fuzz` starts from them. They are real encodings of every message
// (samples) and hand-made hostile inputs. Regenerate them after a change
// to the format with
//
//	PDIFF_WRITE_CORPUS=1 go test -run TestWriteFuzzCorpus ./wire/
//
// Files the fuzzer added (new failing inputs) are left alone.

// corpusMaxLen keeps seed files small; the fuzzer grows inputs itself.
const corpusMaxLen = 8 << 10

func TestWriteFuzzCorpus(t *testing.T) {
	if os.Getenv("PDIFF_WRITE_CORPUS") == "" {
		t.Skip("set PDIFF_WRITE_CORPUS=1 to regenerate testdata/fuzz")
	}
	files := map[string]string{}
	seen := map[Type]int{}
	var small []Message
	for _, m := range samples() {
		if m.Len() > corpusMaxLen {
			continue
		}
		small = append(small, m)
		name := fmt.Sprintf("%v-%d", m.Type(), seen[m.Type()])
		seen[m.Type()]++
		files["FuzzDecode/"+name] = corpusEntry(byte(m.Type()), m.Append(nil))
		files["FuzzReadMessage/"+name] = corpusEntry(AppendFrame(nil, m))
	}
	for name, in := range hostileDecodes() {
		files["FuzzDecode/hostile-"+name] = corpusEntry(byte(in.t), in.b)
	}
	all, _ := stream(small)
	files["FuzzReadMessage/stream"] = corpusEntry(all)
	files["FuzzReadMessage/stream-cut"] = corpusEntry(all[:len(all)-3])
	for name, b := range hostileFrames() {
		files["FuzzReadMessage/hostile-"+name] = corpusEntry(b)
	}
	for name, content := range files {
		path := filepath.Join("testdata", "fuzz", filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("wrote %d corpus files", len(files))
}

// corpusEntry encodes one input in the `go test fuzz v1` format.
func corpusEntry(args ...any) string {
	var b strings.Builder
	b.WriteString("go test fuzz v1\n")
	for _, a := range args {
		switch a := a.(type) {
		case byte:
			fmt.Fprintf(&b, "byte(%q)\n", a)
		case []byte:
			fmt.Fprintf(&b, "[]byte(%q)\n", a)
		default:
			panic(fmt.Sprintf("corpusEntry: %T", a))
		}
	}
	return b.String()
}

type typedPayload struct {
	t Type
	b []byte
}

// hostileDecodes are payloads that announce more than they hold or break a rule.
func hostileDecodes() map[string]typedPayload {
	be := binary.BigEndian
	count := func(n uint32) []byte { return be.AppendUint32(make([]byte, sizeU64), n) }
	dataHdr := func(codec Codec, raw, n uint32) []byte {
		b := be.AppendUint64(nil, 1<<63)
		b = append(b, byte(codec))
		return be.AppendUint32(be.AppendUint32(b, raw), n)
	}
	return map[string]typedPayload{
		"weakbatch-count-max":   {TypeWeakBatch, count(1<<32 - 1)},
		"weakbatch-count-short": {TypeWeakBatch, count(MaxBatch)},
		"verdict-count-max":     {TypeVerdict, count(1<<32 - 1)},
		"verdict-all-matched":   {TypeVerdict, append(count(MaxBatch), make([]byte, MaxBatch/8)...)},
		"verdict-tail-bits":     {TypeVerdict, append(count(3), 0xf8)},
		"hashbatch-count-max":   {TypeHashBatch, count(1<<32 - 1)},
		"data-raw-max":          {TypeData, dataHdr(CodecNone, 1<<32-1, 1<<32-1)},
		"data-lz4-short":        {TypeData, append(dataHdr(CodecLZ4, MaxBlockSize, 3), 1, 2, 3)},
		"data-zero-payload":     {TypeData, append(dataHdr(CodecZero, 4096, 1), 0)},
		"error-len-max":         {TypeError, []byte{0, 1, 0xff, 0xff}},
		"open-path-max":         {TypeOpen, append(make([]byte, openPathOff), 0xff, 0xff)},
		"open-path-dotdot":      {TypeOpen, (&Open{Op: OpPush, Path: "../../etc/passwd", BlockSize: MinBlockSize, Workers: 1}).Append(nil)},
		"hello-bad-magic":       {TypeHello, []byte("PDFB\x00\x01")},
		"batch-overflow":        {TypeWeakBatch, append(be.AppendUint32(be.AppendUint64(nil, 1<<64-1), 1), make([]byte, 8)...)},
	}
}

// hostileFrames are streams whose headers announce huge or lying lengths.
func hostileFrames() map[string][]byte {
	out := map[string][]byte{
		"unknown-type-huge": frameHeader(0x7f, MaxFrameLen),
		"length-max-u32":    frameHeader(TypeVerdict, 1<<32-1),
		"garbage":           []byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"),
		"tls-client-hello":  {0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03},
	}
	for _, t := range []Type{TypeHello, TypeOpen, TypeWeakBatch, TypeVerdict, TypeData, TypeHashBatch} {
		max, _ := maxPayloadLen(t)
		out[fmt.Sprintf("%v-over-max", t)] = frameHeader(t, uint64(max)+1)
		out[fmt.Sprintf("%v-max-then-nothing", t)] = frameHeader(t, uint64(max))
	}
	for name, in := range hostileDecodes() {
		out["frame-"+name] = append(frameHeader(in.t, uint64(len(in.b))), in.b...)
	}
	var lying bytes.Buffer // a Data frame whose header says more than its fields
	lying.Write(frameHeader(TypeData, DataHeaderLen+10))
	lying.Write(AppendFrame(nil, &Data{Block: 2, RawLen: 4, Payload: []byte{1, 2, 3, 4}})[FrameHeaderLen:])
	out["data-lying-length"] = lying.Bytes()
	return out
}
