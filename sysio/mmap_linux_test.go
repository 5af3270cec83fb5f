//go:build linux

package sysio

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestMapReadsInPlace(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f")
	want := make([]byte, 3*65536+123)
	pattern(want, 7)
	if err := os.WriteFile(path, want, 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := Open(path, ReadOnly, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	// Offsets that are and are not page-aligned, up to the file's end.
	for _, r := range [][2]int{{0, len(want)}, {4096, 8192}, {5000, 70000}, {len(want) - 10, 10}} {
		m, err := f.Map(int64(r[0]), r[1])
		if err != nil {
			t.Fatal(err)
		}
		var got []byte
		if err := Guard(func() { got = bytes.Clone(m.Bytes()) }); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want[r[0]:r[0]+r[1]]) {
			t.Errorf("Map(%d, %d): bytes differ", r[0], r[1])
		}
		if err := m.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := f.Map(-1, 10); err == nil {
		t.Error("Map at a negative offset succeeded")
	}
}

func TestGuardTurnsTruncationIntoError(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(path, bytes.Repeat([]byte{1}, 1<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := Open(path, ReadOnly, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	m, err := f.Map(0, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if err := os.Truncate(path, 0); err != nil {
		t.Fatal(err)
	}
	var sum int
	err = Guard(func() {
		for _, b := range m.Bytes()[512<<10:] {
			sum += int(b)
		}
	})
	if !errors.Is(err, ErrMappedFault) {
		t.Fatalf("Guard = %v (sum %d), want ErrMappedFault", err, sum)
	}
	// Other panics are not swallowed.
	defer func() {
		if recover() == nil {
			t.Error("Guard swallowed an ordinary panic")
		}
	}()
	Guard(func() { panic("boom") })
}

func TestMapRefusedUnderDirectReads(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(path, make([]byte, 8192), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := Open(path, ReadOnly, Options{Direct: DirectOn})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if !f.Direct() {
		t.Skip("the filesystem refuses O_DIRECT")
	}
	if _, err := f.Map(0, 8192); !errors.Is(err, ErrNotSupported) {
		t.Fatalf("Map with DirectOn = %v, want ErrNotSupported", err)
	}
}
