package bench

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/pdiffagent/pdiffagent/sysio/sysiotest"
)

// readFile is the shared test helper (sysio/sysiotest).
var readFile = sysiotest.ReadFile

func TestGenerateRandomDeterministic(t *testing.T) {
	dir := t.TempDir()
	const size = 3*genChunk + 12345 // several chunks and a short tail
	a, b, c := filepath.Join(dir, "a"), filepath.Join(dir, "b"), filepath.Join(dir, "c")
	for _, g := range []struct {
		path string
		seed int64
	}{{a, 7}, {b, 7}, {c, 8}} {
		if err := GenerateRandom(g.path, size, g.seed); err != nil {
			t.Fatal(err)
		}
	}
	da, db, dc := readFile(t, a), readFile(t, b), readFile(t, c)
	if len(da) != size {
		t.Fatalf("size %d, want %d", len(da), size)
	}
	if !bytes.Equal(da, db) {
		t.Error("same seed gave different data")
	}
	if bytes.Equal(da, dc) {
		t.Error("different seeds gave the same data")
	}
	if bytes.Equal(da[:genChunk], da[genChunk:2*genChunk]) {
		t.Error("chunks repeat")
	}
}

func TestGenerateRandomEmpty(t *testing.T) {
	p := filepath.Join(t.TempDir(), "e")
	if err := GenerateRandom(p, 0, 1); err != nil {
		t.Fatal(err)
	}
	if n := len(readFile(t, p)); n != 0 {
		t.Fatalf("size %d", n)
	}
}

func TestCopyAndCompare(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	if err := GenerateRandom(a, 5*readChunk+3, 1); err != nil {
		t.Fatal(err)
	}
	if err := CopyFile(a, b); err != nil {
		t.Fatal(err)
	}
	if eq, err := Compare(a, b); err != nil || !eq {
		t.Fatalf("copy: equal %v, err %v", eq, err)
	}
	if _, err := Mutate(b, 4096, 0, Prefix, 0); err != nil {
		t.Fatal(err)
	}
	if eq, _ := Compare(a, b); !eq {
		t.Fatal("0% mutation changed the file")
	}
	// One changed byte in the last stripe.
	f, err := os.OpenFile(b, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	var x [1]byte
	f.ReadAt(x[:], 5*readChunk+2)
	x[0] ^= 0x80
	f.WriteAt(x[:], 5*readChunk+2)
	f.Close()
	if eq, err := Compare(a, b); err != nil || eq {
		t.Fatalf("changed byte: equal %v, err %v", eq, err)
	}
	if err := os.Truncate(b, 10); err != nil {
		t.Fatal(err)
	}
	if eq, _ := Compare(a, b); eq {
		t.Fatal("different sizes compare equal")
	}
}

func TestFloors(t *testing.T) {
	dir := t.TempDir()
	a := filepath.Join(dir, "a")
	if err := GenerateRandom(a, 3<<20, 1); err != nil {
		t.Fatal(err)
	}
	if _, err := FloorRead([]string{a, a}); err != nil {
		t.Fatal(err)
	}
	for _, h := range []string{"", "blake3", "sha512_256"} {
		for _, f := range []float64{0, 0.5, 1} {
			if _, err := FloorStrong([]string{a, a}, f, 64<<10, h); err != nil {
				t.Fatal(h, err)
			}
		}
	}
	if _, err := FloorRead([]string{filepath.Join(dir, "missing")}); err == nil {
		t.Fatal("missing file: no error")
	}
}
