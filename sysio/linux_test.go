//go:build linux

package sysio

import (
	"bytes"
	"io"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/pdiffagent/pdiffagent/sysio/sysiotest"
	"golang.org/x/sys/unix"
)

// directFS reports whether dir is on a filesystem known to accept O_DIRECT.
func directFS(t *testing.T, dir string) bool {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		t.Fatal(err)
	}
	switch st.Type {
	case unix.EXT4_SUPER_MAGIC, unix.XFS_SUPER_MAGIC, unix.BTRFS_SUPER_MAGIC:
		return true
	}
	return false
}

// countDirect wraps the raw O_DIRECT functions to count calls and, when
// fail is set, refuse them with EINVAL. The originals return at cleanup.
func countDirect(t *testing.T, fail bool) (reads, writes *atomic.Int64) {
	reads, writes = new(atomic.Int64), new(atomic.Int64)
	pr, pw := directPread, directPwrite
	t.Cleanup(func() { directPread, directPwrite = pr, pw })
	directPread = func(fd int, p []byte, off int64) (int, error) {
		reads.Add(1)
		if fail {
			return 0, unix.EINVAL
		}
		return pr(fd, p, off)
	}
	directPwrite = func(fd int, p []byte, off int64) (int, error) {
		writes.Add(1)
		if fail {
			return 0, unix.EINVAL
		}
		return pw(fd, p, off)
	}
	return reads, writes
}

func TestDirectUsed(t *testing.T) {
	dir := t.TempDir()
	if !directFS(t, dir) {
		t.Skip("temp dir is not on ext4/xfs/btrfs")
	}
	reads, writes := countDirect(t, false)
	f := create(t, dir, Options{Direct: DirectOn})
	checkRoundTrip(t, f)
	if !f.Direct() || reads.Load() == 0 || writes.Load() == 0 {
		t.Fatalf("direct in use %v, %d direct reads, %d direct writes", f.Direct(), reads.Load(), writes.Load())
	}
	// DirectAuto: writes direct, reads buffered.
	reads.Store(0)
	writes.Store(0)
	g, err := Open(filepath.Join(dir, "g"), Create, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	p := AlignedBuffer(1 << 20)
	if _, err := g.WriteAt(p, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := g.ReadAt(p, 0); err != nil {
		t.Fatal(err)
	}
	if reads.Load() != 0 || writes.Load() == 0 {
		t.Fatalf("DirectAuto: %d direct reads, %d direct writes", reads.Load(), writes.Load())
	}
	// A read-only File needs no direct descriptor unless DirectOn.
	r, err := Open(filepath.Join(dir, "g"), ReadOnly, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if r.Direct() {
		t.Fatal("ReadOnly with DirectAuto opened an O_DIRECT descriptor")
	}
}

// TestDirectEINVALFallback: a direct transfer refused with EINVAL switches
// the File to buffered I/O without the caller noticing.
func TestDirectEINVALFallback(t *testing.T) {
	dir := t.TempDir()
	if !directFS(t, dir) {
		t.Skip("temp dir is not on ext4/xfs/btrfs")
	}
	reads, writes := countDirect(t, true)
	f := create(t, dir, Options{Direct: DirectOn})
	if !f.Direct() {
		t.Fatal("no direct descriptor")
	}
	checkRoundTrip(t, f)
	if f.Direct() || reads.Load()+writes.Load() != 1 {
		t.Fatalf("after EINVAL: direct %v, %d direct calls", f.Direct(), reads.Load()+writes.Load())
	}
}

// mountFS mounts a fresh filesystem of type fstype on a temp dir.
func mountFS(t *testing.T, fstype string) string {
	dir := t.TempDir()
	sysiotest.Mount(t, fstype, dir, "64m")
	return dir
}

func TestTmpfs(t *testing.T) {
	dir := mountFS(t, "tmpfs")
	f := create(t, dir, Options{Direct: DirectOn})
	t.Logf("tmpfs accepts O_DIRECT: %v", f.Direct()) // recent kernels: yes
	checkRoundTrip(t, f)
	f.Close()
}

func TestRamfsRefusesDirect(t *testing.T) {
	dir := mountFS(t, "ramfs")
	f := create(t, dir, Options{Direct: DirectOn})
	if f.Direct() {
		t.Fatal("ramfs accepted O_DIRECT?")
	}
	checkRoundTrip(t, f)
	if err := f.PunchHole(0, 4096); err != ErrNotSupported {
		t.Logf("PunchHole on ramfs: %v", err)
	}
	if err := f.Allocate(0, 1<<20); err != nil {
		t.Fatalf("Allocate on ramfs: %v", err)
	}
	f.Close()
}

func TestPunchHoleSeek(t *testing.T) {
	f := create(t, t.TempDir(), Options{})
	const mib = 1 << 20
	p := AlignedBuffer(3 * mib)
	pattern(p, 9)
	if _, err := f.WriteAt(p, 0); err != nil {
		t.Fatal(err)
	}
	if err := f.PunchHole(mib, mib); err == ErrNotSupported {
		t.Skip("filesystem cannot punch holes")
	} else if err != nil {
		t.Fatal(err)
	}
	if size, _ := f.Size(); size != 3*mib {
		t.Fatalf("size after PunchHole = %d", size)
	}
	q := make([]byte, mib)
	if _, err := f.ReadAt(q, mib); err != nil || !bytes.Equal(q, make([]byte, mib)) {
		t.Fatalf("hole does not read as zeros: %v", err)
	}
	if h, err := f.NextHole(0); err != nil || h == 3*mib {
		t.Skipf("filesystem does not report holes: %d, %v", h, err)
	}
	for _, c := range []struct {
		hole bool
		off  int64
		want int64
		err  error
	}{
		{false, 0, 0, nil},
		{true, 0, mib, nil},
		{false, mib, 2 * mib, nil},
		{false, mib + 5, 2 * mib, nil},
		{true, 2 * mib, 3 * mib, nil},
		{false, 3 * mib, -1, io.EOF},
		{true, 3 * mib, -1, io.EOF},
	} {
		next := f.NextData
		if c.hole {
			next = f.NextHole
		}
		if got, err := next(c.off); got != c.want || err != c.err {
			t.Errorf("Next(hole %v, %d) = %d, %v; want %d, %v", c.hole, c.off, got, err, c.want, c.err)
		}
	}
}

// TestWriteAtv: buffers written one after another land as WriteAt would
// land them joined; the aligned ones go in one direct pwritev where
// O_DIRECT is in use, and a refused one falls back to buffered writes.
func TestWriteAtv(t *testing.T) {
	dir := t.TempDir()
	direct := directFS(t, dir)
	for _, refuse := range []bool{false, true} {
		calls := new(atomic.Int64)
		pv := directPwritev
		directPwritev = func(fd int, iovs [][]byte, off int64) (int, error) {
			calls.Add(1)
			if refuse {
				return 0, unix.EINVAL
			}
			// A short write in the middle of the second buffer: the
			// rest must follow.
			if calls.Load() == 1 && len(iovs) > 1 {
				return pv(fd, [][]byte{iovs[0], iovs[1][:Alignment]}, off)
			}
			return pv(fd, iovs, off)
		}
		f := create(t, dir, Options{})
		bufs := [][]byte{AlignedBuffer(2 * Alignment), AlignedBuffer(3 * Alignment), AlignedBuffer(Alignment), make([]byte, 100), AlignedBuffer(Alignment)}
		var want []byte
		for i, b := range bufs {
			for j := range b {
				b[j] = byte(i*31 + j)
			}
			want = append(want, b...)
		}
		const off = 4 * Alignment
		n, err := f.WriteAtv(bufs, off)
		directPwritev = pv
		if err != nil || n != len(want) {
			t.Fatalf("refuse %v: WriteAtv = %d, %v; want %d", refuse, n, err, len(want))
		}
		got := make([]byte, len(want))
		if _, err := f.ReadAt(got, off); err != nil || !bytes.Equal(got, want) {
			t.Fatalf("refuse %v: read back %v, equal %v", refuse, err, bytes.Equal(got, want))
		}
		if direct && calls.Load() < 1 {
			t.Errorf("refuse %v: no direct pwritev on a filesystem with O_DIRECT", refuse)
		}
		if !direct && calls.Load() != 0 {
			t.Errorf("pwritev on the direct descriptor without one: %d calls", calls.Load())
		}
	}
}
