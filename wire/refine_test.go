package wire

import (
	"bytes"
	"errors"
	"runtime"
	"testing"
)

// TestRefineStrongMissing: a Refine whose block lacks strong hashes is
// refused by Validate (its encoding, with zeros in their place, is a
// different, valid message).
func TestRefineStrongMissing(t *testing.T) {
	r := &Refine{SubSize: MinBlockSize, Blocks: []RefineBlock{{Weak: hashes(2), Strong: strongs(1)}}}
	if err := r.Validate(); !errors.Is(err, ErrInvalid) {
		t.Fatalf("Validate: %v", err)
	}
	if r.Len() != len(r.Append(nil)) {
		t.Fatalf("Len %d, encoded %d", r.Len(), len(r.Append(nil)))
	}
}

// TestRefineWeakOnly: a WeakOnly block carries tier-1 hashes alone (8
// bytes a sub-block) and round-trips; one with strong hashes is invalid,
// and the flag bit is not part of the index (MaxBatch still bounds it).
func TestRefineWeakOnly(t *testing.T) {
	r := &Refine{First: 7, SubSize: MinBlockSize, Blocks: []RefineBlock{{Index: 3, WeakOnly: true, Weak: hashes(4)}}}
	b := r.Append(nil)
	if len(b) != refineFixedLen+refineEntryLen+4*sizeU64 || r.Len() != len(b) {
		t.Fatalf("encoded %d bytes, Len %d", len(b), r.Len())
	}
	m, err := Decode(TypeRefine, b)
	if err != nil {
		t.Fatal(err)
	}
	got := m.(*Refine).Blocks[0]
	if !got.WeakOnly || got.Index != 3 || got.Strong != nil || len(got.Weak) != 4 || got.Weak[3] != r.Blocks[0].Weak[3] {
		t.Fatalf("decoded %+v", got)
	}
	bad := &Refine{SubSize: MinBlockSize, Blocks: []RefineBlock{{Index: 0, WeakOnly: true, Weak: hashes(2), Strong: strongs(2)}}}
	if err := bad.Validate(); !errors.Is(err, ErrInvalid) {
		t.Fatalf("Validate with strong hashes: %v", err)
	}
	big := &Refine{SubSize: MinBlockSize, Blocks: []RefineBlock{{Index: MaxBatch, WeakOnly: true, Weak: hashes(2)}}}
	if _, err := Decode(TypeRefine, big.Append(nil)); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("Decode of index MaxBatch: %v", err)
	}
}

// TestRefineCountBeforeAlloc: a Refine announcing more sub-blocks than its
// payload holds fails before its hash slices are made.
func TestRefineCountBeforeAlloc(t *testing.T) {
	b := (&Refine{SubSize: MinBlockSize, Blocks: []RefineBlock{refineBlock(0, 2)}}).Append(nil)
	b[refineEntriesOff+sizeU32+sizeU32-2] = 0x3f // subs = 16130, payload holds 2
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	if _, err := Decode(TypeRefine, b); !errors.Is(err, ErrTruncated) {
		t.Fatalf("Decode: %v", err)
	}
	runtime.ReadMemStats(&after)
	if n := after.TotalAlloc - before.TotalAlloc; n > 4<<10 { // the error only; the slices would be 640 KiB
		t.Fatalf("%d bytes allocated to refuse it", n)
	}
}

// TestReaderSubDataMaxBlock: a SubData frame larger than half the
// session's block is refused before its payload is read.
func TestReaderSubDataMaxBlock(t *testing.T) {
	var buf bytes.Buffer
	d := &SubData{Block: 1, Codec: CodecNone, RawLen: 16 << 10, Payload: seq(16<<10, 1)}
	if err := WriteFrame(&buf, d); err != nil {
		t.Fatal(err)
	}
	r := NewReader(bytes.NewReader(buf.Bytes()))
	r.SetMaxBlockSize(16 << 10)
	if _, err := r.ReadMessage(); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("ReadMessage: %v", err)
	}
	r = NewReader(bytes.NewReader(buf.Bytes()))
	r.SetMaxBlockSize(32 << 10)
	if m, err := r.ReadMessage(); err != nil || !bytes.Equal(m.(*SubData).Payload, d.Payload) {
		t.Fatalf("ReadMessage: %v", err)
	}
}
