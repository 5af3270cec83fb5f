package wire

import (
	"bytes"
	"errors"
	"io"
	"testing"
)

// checkDecodeError fails t unless err is one this package documents.
func checkDecodeError(t *testing.T, err error) {
	t.Helper()
	var f *FormatError
	var u *UnknownTypeError
	if !errors.As(err, &f) && !errors.As(err, &u) {
		t.Fatalf("undocumented error %T: %v", err, err)
	}
	if f != nil && f.Err == nil {
		t.Fatalf("FormatError without sentinel: %v", err)
	}
}

func FuzzDecode(f *testing.F) {
	for _, m := range samples() {
		if m.Len() <= 1<<16 {
			f.Add(byte(m.Type()), m.Append(nil))
		}
	}
	f.Add(byte(0x7f), []byte("unknown"))
	f.Add(byte(TypeVerdict), []byte{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 9, 0xff, 0x01})
	// TreeEntries with records (CapTreeRecords) that are refused: on a
	// directory, a presence byte of 2, the flag with none, one cut short.
	rec := append([]byte{1}, bytes.Repeat([]byte{0xab}, DigestSize)...)
	dir := (&TreeEntry{Kind: 2, Name: "d"}).append(nil)
	file := (&TreeEntry{Kind: 1, Name: "f", Size: 1 << 20}).append(nil)
	for _, b := range [][]byte{
		append(append([]byte{treeEntriesRecords, 0, 1}, dir...), rec...),
		append(append([]byte{treeEntriesRecords | treeEntriesLast, 0, 1}, file...), 2),
		append(append([]byte{treeEntriesRecords, 0, 1}, file...), 0),
		append(append([]byte{treeEntriesRecords, 0, 2}, file...), rec[:DigestSize/2]...),
	} {
		f.Add(byte(TypeTreeEntries), b)
	}
	f.Fuzz(func(t *testing.T, typ byte, payload []byte) {
		m, err := Decode(Type(typ), payload)
		if err != nil {
			if m != nil {
				t.Fatalf("message %v with error %v", m, err)
			}
			checkDecodeError(t, err)
			return
		}
		if m.Type() != Type(typ) {
			t.Fatalf("decoded %v from type %v", m.Type(), Type(typ))
		}
		if err := m.(validator).Validate(); err != nil {
			t.Fatalf("decoded message fails Validate: %v", err)
		}
		if m.Len() != len(payload) {
			t.Fatalf("Len %d, payload %d bytes", m.Len(), len(payload))
		}
		if b := m.Append(nil); !bytes.Equal(b, payload) {
			t.Fatalf("re-encoding differs:\n got % x\nwant % x", b, payload)
		}
	})
}

func FuzzReadMessage(f *testing.F) {
	var small []Message
	for _, m := range samples() {
		if m.Len() <= 1<<12 {
			small = append(small, m)
		}
	}
	all, _ := stream(small)
	f.Add(all)
	for _, m := range small {
		f.Add(AppendFrame(nil, m))
	}
	f.Add(append(frameHeader(0x7e, 3), 1, 2, 3, 0, 0, 0, 6, byte(TypeHello), 'P', 'D', 'F', 'A', 0, 1))
	f.Add(append(AppendFrame(nil, NewHello()), AppendFrame(nil, &Keepalive{Done: 7})...))
	f.Add(append(frameHeader(TypeHello, uint64(helloLen)), 'P', 'D', 'F', 'A', 0, 2, 0, 0)) // caps cut short
	f.Add(frameHeader(TypeData, 1<<31))
	f.Add(all[:len(all)-1])
	maxBuf := maxNonDataPayload()
	f.Fuzz(func(t *testing.T, data []byte) {
		src := bytes.NewReader(data)
		r := NewReader(src)
		// Keep allocations proportional to the input: a Data frame may
		// announce up to 16 KiB.
		r.SetMaxBlockSize(16 << 10)
		consumed := func() int { return len(data) - src.Len() - r.br.Buffered() }
		prev := 0
		for {
			m, err := r.ReadMessage()
			end := consumed()
			if cap(r.buf) > maxBuf {
				t.Fatalf("payload buffer grew to %d bytes, maximum %d", cap(r.buf), maxBuf)
			}
			if err != nil {
				var u *UnknownTypeError
				if errors.As(err, &u) {
					if end-prev != FrameHeaderLen+u.Len {
						t.Fatalf("skipped %d bytes for %v", end-prev, u)
					}
					prev = end
					continue
				}
				if err == io.EOF {
					if prev != len(data) {
						t.Fatalf("io.EOF at %d of %d bytes", prev, len(data))
					}
				} else {
					checkDecodeError(t, err)
				}
				if _, again := r.ReadMessage(); again != err {
					t.Fatalf("error not sticky: %v then %v", err, again)
				}
				return
			}
			if b := AppendFrame(nil, m); !bytes.Equal(b, data[prev:end]) {
				t.Fatalf("frame at %d re-encodes differently:\n got % x\nwant % x", prev, b, data[prev:end])
			}
			prev = end
		}
	})
}
