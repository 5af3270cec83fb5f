package sysio

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

// pattern fills p with bytes derived from seed so that misplaced data is
// detected.
func pattern(p []byte, seed int) {
	for i := range p {
		p[i] = byte(seed*131 + i*7 + i>>12)
	}
}

// buf returns an n-byte buffer that is Alignment-aligned or deliberately not.
func buf(n int, aligned bool) []byte {
	if aligned {
		return AlignedBuffer(n)
	}
	return AlignedBuffer(n + 1)[1:]
}

func create(t testing.TB, dir string, opt Options) *File {
	t.Helper()
	f, err := Open(filepath.Join(dir, "f"), Create, opt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

func TestAlignedBuffer(t *testing.T) {
	for _, n := range []int{0, 1, 100, 4095, 4096, 4097, 10000, slabMin - 1, slabMin, 1 << 20, slabSize, slabSize + 1, 3 * slabSize} {
		b := AlignedBuffer(n)
		if len(b) != n || cap(b)%Alignment != 0 || cap(b) < n || !isAlignedPtr(b[:cap(b)]) {
			t.Errorf("AlignedBuffer(%d): len %d cap %d addr %#x", n, len(b), cap(b), addr(b[:cap(b)]))
		}
	}
}

// TestAlignedBufferSlabs: buffers carved out of one slab do not overlap,
// and none reaches into the next (appending cannot: cap is the size).
func TestAlignedBufferSlabs(t *testing.T) {
	const n = 3 << 20 // two per slab, then a new slab
	var bufs [][]byte
	for i := range 5 {
		b := AlignedBuffer(n)
		if len(b) != n || cap(b) != n || !isAlignedPtr(b) {
			t.Fatalf("buffer %d: len %d cap %d addr %#x", i, len(b), cap(b), addr(b))
		}
		for j := range b {
			b[j] = byte(i + 1)
		}
		bufs = append(bufs, b)
	}
	for i, b := range bufs {
		for j, c := range b {
			if c != byte(i+1) {
				t.Fatalf("buffer %d byte %d is %d: overwritten by another buffer", i, j, c)
			}
		}
	}
}

// checkRoundTrip writes at assorted (aligned and unaligned) offsets,
// lengths and buffers, then reads everything back in the same way.
func checkRoundTrip(t *testing.T, f *File) {
	var model []byte
	offs := []int64{0, 100, 4096, 8192 + 7, 1 << 20, 3 << 20}
	lens := []int{0, 1, 4095, 4096, 4097, 65536, 65536 + 123, 1 << 20}
	seed := 0
	for _, off := range offs {
		for _, n := range lens {
			for _, al := range []bool{true, false} {
				seed++
				p := buf(n, al)
				pattern(p, seed)
				if m, err := f.WriteAt(p, off); err != nil || m != n {
					t.Fatalf("WriteAt(len %d, off %d, aligned %v) = %d, %v", n, off, al, m, err)
				}
				if end := int(off) + n; end > len(model) {
					model = append(model, make([]byte, end-len(model))...)
				}
				copy(model[off:], p)
			}
		}
	}
	if size, err := f.Size(); err != nil || size != int64(len(model)) {
		t.Fatalf("Size = %d, %v; want %d", size, err, len(model))
	}
	for _, off := range offs {
		for _, n := range lens {
			for _, al := range []bool{true, false} {
				p := buf(n, al)
				m, err := f.ReadAt(p, off)
				want := min(n, len(model)-int(off))
				if m != want || (err != nil) != (want < n) || (err != nil && err != io.EOF) {
					t.Fatalf("ReadAt(len %d, off %d) = %d, %v; want %d", n, off, m, err, want)
				}
				if !bytes.Equal(p[:m], model[off:int(off)+m]) {
					t.Fatalf("ReadAt(len %d, off %d, aligned %v): wrong data", n, off, al)
				}
			}
		}
	}
}

func TestRoundTrip(t *testing.T) {
	for _, mode := range []DirectMode{DirectAuto, DirectOff, DirectOn} {
		t.Run(fmt.Sprint("direct", mode), func(t *testing.T) {
			f := create(t, t.TempDir(), Options{Direct: mode})
			t.Logf("direct descriptor in use: %v", f.Direct())
			checkRoundTrip(t, f)
		})
	}
}

func TestReadAtEOF(t *testing.T) {
	f := create(t, t.TempDir(), Options{Direct: DirectOn})
	data := make([]byte, 10000) // unaligned size
	pattern(data, 1)
	if _, err := f.WriteAt(data, 0); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		off     int64
		n, want int
		wantEOF bool
		aligned bool
	}{
		{0, 16384, 10000, true, true},
		{8192, 4096, 1808, true, true},
		{8192, 4096, 1808, true, false},
		{12288, 4096, 0, true, true},
		{0, 8192, 8192, false, true},
		{20000, 0, 0, false, true},
	} {
		p := buf(c.n, c.aligned)
		m, err := f.ReadAt(p, c.off)
		if m != c.want || (err == io.EOF) != c.wantEOF || (err != nil && err != io.EOF) {
			t.Errorf("ReadAt(%d bytes at %d) = %d, %v; want %d, EOF %v", c.n, c.off, m, err, c.want, c.wantEOF)
		}
		if m > 0 && !bytes.Equal(p[:m], data[c.off:c.off+int64(m)]) {
			t.Errorf("ReadAt(%d bytes at %d): wrong data", c.n, c.off)
		}
	}
	if _, err := f.ReadAt(make([]byte, 1), -1); err == nil {
		t.Error("ReadAt at negative offset succeeded")
	}
}

func TestConcurrentWriteAt(t *testing.T) {
	f := create(t, t.TempDir(), Options{})
	const workers, blocks, bs = 8, 32, 3 * Alignment
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b := range blocks {
				i := b*workers + w // interleaved blocks
				n := bs
				if i%3 == 0 {
					n = bs - 100 // unaligned length
				}
				p := buf(n, i%5 != 0)
				pattern(p, i)
				if _, err := f.WriteAt(p, int64(i*bs)); err != nil {
					t.Error(err)
					return
				}
				q := buf(n, i%2 == 0)
				if _, err := f.ReadAt(q, int64(i*bs)); err != nil || !bytes.Equal(p, q) {
					t.Errorf("block %d: read back %v", i, err)
				}
			}
		}()
	}
	wg.Wait()
	for i := range workers * blocks {
		n := bs
		if i%3 == 0 {
			n = bs - 100
		}
		want, got := make([]byte, n), make([]byte, n)
		pattern(want, i)
		if _, err := f.ReadAt(got, int64(i*bs)); err != nil || !bytes.Equal(want, got) {
			t.Fatalf("block %d: %v", i, err)
		}
	}
}

func TestTruncateAllocateStat(t *testing.T) {
	f := create(t, t.TempDir(), Options{})
	if err := f.Allocate(0, 1<<20); err != nil {
		t.Fatal(err)
	}
	size, mtime, mode, err := f.Stat()
	if err != nil || !mode.IsRegular() || mtime == 0 {
		t.Fatalf("Stat = %d, %d, %v, %v", size, mtime, mode, err)
	}
	t.Logf("size after Allocate: %d", size)
	if err := f.Allocate(4096, 100); err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(5000); err != nil {
		t.Fatal(err)
	}
	if size, err := f.Size(); err != nil || size != 5000 {
		t.Fatalf("Size after Truncate = %d, %v", size, err)
	}
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
	if err := f.SyncData(); err != nil {
		t.Fatal(err)
	}
	if err := f.DropCache(); err != nil {
		t.Fatal(err)
	}
	f.AdviseSequential(0, 0)
	if f.IsDevice() {
		t.Fatal("regular file reported as device")
	}
}

func TestOpenModes(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x")
	if _, err := Open(path, ReadWrite, Options{}); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("ReadWrite on missing file: %v", err)
	}
	if err := os.WriteFile(path, []byte("hello"), 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := Open(path, ReadOnly, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if f.Name() != path || f.OS() == nil {
		t.Fatalf("Name %q OS %v", f.Name(), f.OS())
	}
	if _, err := f.WriteAt([]byte("x"), 0); err == nil {
		t.Fatal("WriteAt on a ReadOnly file succeeded")
	}
	p := make([]byte, 5)
	if n, err := f.ReadAt(p, 0); n != 5 || err != nil || string(p) != "hello" {
		t.Fatalf("ReadAt = %d, %v, %q", n, err, p)
	}
}

func TestFromOS(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x")
	osf, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	f, err := FromOS(osf, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	t.Logf("direct descriptor in use: %v", f.Direct())
	checkRoundTrip(t, f)
}
