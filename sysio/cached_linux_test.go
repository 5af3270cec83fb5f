package sysio

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/pdiffagent/pdiffagent/sysio/sysiotest"
)

// TestReadAtCachedFirst: a buffered ReadAt takes what the page cache holds
// with preadCached and the rest with a pread, so a cold, a partly cached
// and a cached read all return the file's bytes and count them once; once
// the file is cached, preadCached alone reads a whole range.
func TestReadAtCachedFirst(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f")
	data := make([]byte, 64*Alignment+123)
	pattern(data, 9)
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := Open(path, ReadOnly, Options{Direct: DirectOff})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := f.DropCache(); err != nil {
		t.Fatal(err)
	}
	cold := sysiotest.CachedPages(t, path) == 0
	var want int64
	for _, r := range []struct{ off, n int }{
		{0, 8 * Alignment},                    // cold (when the cache let go)
		{4 * Alignment, 16 * Alignment},       // half cached
		{0, len(data)},                        // partly cached, with the tail
		{len(data) - 200, 200},                // cached, unaligned
		{10*Alignment + 7, 30*Alignment + 11}, // cached, unaligned at both ends
	} {
		p := make([]byte, r.n)
		n, err := f.ReadAt(p, int64(r.off))
		if err != nil || n != r.n || !bytes.Equal(p, data[r.off:r.off+r.n]) {
			t.Fatalf("ReadAt(%d bytes at %d) = %d, %v, equal %v", r.n, r.off, n, err, bytes.Equal(p, data[r.off:r.off+r.n]))
		}
		want += int64(r.n)
	}
	if got := f.BytesRead(); got != want {
		t.Errorf("BytesRead %d, want %d", got, want)
	}
	if noNowait.Load() {
		t.Skip("this kernel or filesystem refuses RWF_NOWAIT reads")
	}
	p := make([]byte, len(data))
	if n := preadCached(f.f, p, 0); n != len(data) || !bytes.Equal(p, data) {
		t.Errorf("preadCached of the cached file read %d of %d bytes (equal %v)", n, len(data), bytes.Equal(p[:n], data[:n]))
	}
	if cold {
		// The cache lacked the file: preadCached took nothing of it then
		// (checked through a fresh drop, as the reads above cached it).
		if err := f.DropCache(); err != nil {
			t.Fatal(err)
		}
		// A read with RWF_NOWAIT still starts the readahead of the pages
		// it lacks and takes them if that I/O has completed by the time
		// it looks again (filemap_get_pages): on a fast or synchronous
		// device (a RAM-backed disk, CI's) it reads an uncached page
		// whole, which is a plain read, as correct as ours. So only what
		// it returns is checked here; that it took nothing is logged.
		if sysiotest.CachedPages(t, path) == 0 {
			q := p[:Alignment]
			n := preadCached(f.f, q, 32*Alignment)
			if n < 0 || n > len(q) || !bytes.Equal(q[:n], data[32*Alignment:32*Alignment+n]) {
				t.Errorf("preadCached of an uncached page returned %d bytes, or the wrong ones", n)
			}
			if n != 0 {
				t.Logf("preadCached of an uncached page read %d bytes: this device completes readahead at once", n)
			}
		}
	}
}
