package bench

import (
	"bytes"
	"path/filepath"
	"testing"
)

// TestMutatePages rewrites pages and checks that exactly that many pages
// differ, each wholly, and that the blocks holding them are the count
// reported; the same seed gives the same file.
func TestMutatePages(t *testing.T) {
	const size = 300*PageLen + 100
	dir := t.TempDir()
	orig := filepath.Join(dir, "orig")
	if err := GenerateRandom(orig, size, 5); err != nil {
		t.Fatal(err)
	}
	want := readFile(t, orig)
	for _, c := range []struct {
		pages int64
		bs    int
	}{{0, 4096}, {1, 4096}, {37, 64 << 10}, {300, 1 << 20}, {120, 4096}} {
		var first []byte
		for range 2 {
			p := filepath.Join(dir, "m")
			if err := CopyFile(orig, p); err != nil {
				t.Fatal(err)
			}
			got, err := MutatePages(p, c.bs, c.pages, 9)
			if err != nil {
				t.Fatal(err)
			}
			data := readFile(t, p)
			if d := diffBlocks(want, data, PageLen); d != c.pages {
				t.Errorf("%d pages: %d pages differ", c.pages, d)
			}
			if d := diffBlocks(want, data, c.bs); d != got {
				t.Errorf("%d pages: reported %d blocks of %d, %d differ", c.pages, got, c.bs, d)
			}
			for off := 0; off+PageLen <= size; off += PageLen {
				a, b := want[off:off+PageLen], data[off:off+PageLen]
				if !bytes.Equal(a, b) && (bytes.Equal(a[:64], b[:64]) || bytes.Equal(a[PageLen-64:], b[PageLen-64:])) {
					t.Errorf("%d pages: page at %d only partly rewritten", c.pages, off)
				}
			}
			if first != nil && !bytes.Equal(first, data) {
				t.Errorf("%d pages: the same seed gave another file", c.pages)
			}
			first = data
		}
	}
	if _, err := MutatePages(orig, 4096, 301, 1); err == nil {
		t.Error("more pages than the file holds accepted")
	}
}
