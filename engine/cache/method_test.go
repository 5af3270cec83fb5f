package cache

import (
	"encoding/binary"
	"hash/crc32"
	"os"
	"testing"
)

// TestMethodXXH3: a record made by a session with an XXH3 tier 1 keeps
// that in its header (the weak id byte), reads back with MethodXXH3, and
// is found only by a lookup with the same method; a header with an
// unknown weak id, or the bit in the tier-2 byte, is corrupt.
func TestMethodXXH3(t *testing.T) {
	s := newStore(t, Options{})
	f := newFile(t, 8*testBlock, 3)
	size, _ := f.Size()
	const m = 1 | MethodXXH3
	w, err := s.Create(f, size, testBlock, m)
	if err != nil || w == nil {
		t.Fatalf("Create: %v %v", w, err)
	}
	if err := w.Put(0, entries(0, 8)); err != nil {
		t.Fatal(err)
	}
	if err := w.Commit(f); err != nil {
		t.Fatal(err)
	}
	if r, st, err := s.Lookup(f, testBlock, m); err != nil || st != Hit || r.Method != m {
		t.Fatalf("lookup with the method it was made with: %v %v", st, err)
	} else {
		r.Close()
	}
	if _, st, _ := s.Lookup(f, testBlock, 1); st == Hit {
		t.Fatal("an XXH3 record served an xxhash64 session")
	}
	p := recordPath(t, s, f)
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if b[28] != 1 || b[29] != WeakXXH3 {
		t.Fatalf("header bytes 28, 29 = %d, %d; want 1, %d", b[28], b[29], WeakXXH3)
	}
	h, err := decodeHeader(b)
	if err != nil || h.Method != m {
		t.Fatalf("decoded method %#x, %v", h.Method, err)
	}
	for _, bad := range []struct{ at, v byte }{{29, 0}, {29, 3}, {28, 1 | MethodXXH3}} {
		c := append([]byte(nil), b[:headerSize]...)
		c[bad.at] = bad.v
		// With its checksum made again, as a writer would have.
		binary.LittleEndian.PutUint32(c[headerCRCAt:], crc32.Checksum(c[:headerCRCAt], castagnoli))
		if _, err := decodeHeader(c); err == nil {
			t.Errorf("byte %d = %#x decoded", bad.at, bad.v)
		}
	}
}
