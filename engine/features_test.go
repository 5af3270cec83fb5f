package engine

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pdiffagent/pdiffagent/sysio/sysiotest"
)

func allocated(t *testing.T, path string) int64 {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Sys().(*syscall.Stat_t).Blocks * 512
}

func TestRangeTouchesOnlyItsBlocks(t *testing.T) {
	checkNoLeak(t)
	src := randBytes(20, 16*testBS+100)
	old := flip(src, 1, 3*testBS, 5*testBS, 7*testBS+2, 12*testBS, 16*testBS+50)
	s, d := writeCase(t, syncCase{src: src, dst: old})
	p := Params{Session: Session{BlockSize: testBS, Workers: 2}, File: File{Start: 4 * testBS, End: 8 * testBS}}
	st, err := SyncLocal(context.Background(), s, d, p, Options{})
	if err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(d)
	want := append(append(append([]byte(nil), old[:4*testBS]...), src[4*testBS:8*testBS]...), old[8*testBS:]...)
	if !bytes.Equal(got, want) {
		t.Fatal("range sync touched bytes outside [start, end) or missed some inside")
	}
	if st.BlocksTotal != 4 || st.BlocksChanged != 2 || st.BytesRange != 4*testBS || st.BytesTotal != int64(len(src)) {
		t.Errorf("stats %+v", st)
	}
	// A range reaching the end of a file whose size is not block-aligned.
	p = Params{Session: Session{BlockSize: testBS}, File: File{Start: 12 * testBS, End: int64(len(src))}}
	if _, err := SyncLocal(context.Background(), s, d, p, Options{}); err != nil {
		t.Fatal(err)
	}
	got, _ = os.ReadFile(d)
	if !bytes.Equal(got[12*testBS:], src[12*testBS:]) {
		t.Fatal("tail range not synced")
	}
	for _, r := range []File{{Start: 100}, {End: 5000}, {Start: 8 * testBS, End: 4 * testBS}, {End: 100 * testBS}} {
		bad := Params{File: r}
		bad.BlockSize = testBS
		if _, err := SyncLocal(context.Background(), s, d, bad, Options{}); err == nil {
			t.Errorf("range %d-%d accepted", bad.Start, bad.End)
		}
	}
}

func TestSparse(t *testing.T) {
	checkNoLeak(t)
	dir := t.TempDir()
	src, dst := filepath.Join(dir, "src"), filepath.Join(dir, "dst")
	const size = 64 << 20
	f, err := os.Create(src)
	if err != nil {
		t.Fatal(err)
	}
	data := randBytes(21, 256<<10)
	for _, off := range []int64{0, 10 << 20, 40<<20 + 4096} {
		f.WriteAt(data, off)
	}
	f.Truncate(size)
	f.Close()
	if allocated(t, src) > 4<<20 {
		t.Skip("filesystem does not keep holes")
	}
	p := Params{Session: Session{BlockSize: 64 << 10, Workers: 2}}
	st, err := SyncLocal(context.Background(), src, dst, p, Options{})
	if err != nil {
		t.Fatal(err)
	}
	a, _ := os.ReadFile(src)
	b, _ := os.ReadFile(dst)
	if !bytes.Equal(a, b) {
		t.Fatal("sparse copy differs")
	}
	if got := allocated(t, dst); got > 4<<20 {
		t.Errorf("target allocates %d bytes; the source's data is 768 KiB", got)
	}
	if st.BlocksZero == 0 || st.BytesSent > 2<<20 {
		t.Errorf("zero blocks %d, bytes sent %d", st.BlocksZero, st.BytesSent)
	}
	// A dense target full of stale data becomes sparse where the source is.
	os.WriteFile(dst, randBytes(22, size), 0o644)
	if _, err := SyncLocal(context.Background(), src, dst, p, Options{}); err != nil {
		t.Fatal(err)
	}
	b, _ = os.ReadFile(dst)
	if !bytes.Equal(a, b) {
		t.Fatal("resync differs")
	}
	if got := allocated(t, dst); got > 8<<20 {
		t.Errorf("holes not punched: target allocates %d bytes", got)
	}
	// --no-sparse writes the zeros.
	os.Remove(dst)
	p.NoSparse = true
	if _, err := SyncLocal(context.Background(), src, dst, p, Options{}); err != nil {
		t.Fatal(err)
	}
	if got := allocated(t, dst); got < size {
		t.Errorf("--no-sparse target allocates only %d bytes", got)
	}
}

func TestMetadata(t *testing.T) {
	checkNoLeak(t)
	src := randBytes(23, 3*testBS)
	s, d := writeCase(t, syncCase{src: src, dst: src[:testBS]})
	mt := time.Date(2020, 1, 2, 3, 4, 5, 600, time.UTC)
	os.Chmod(s, 0o640)
	os.Chtimes(s, mt, mt)
	if _, err := SyncLocal(context.Background(), s, d, Params{Session: Session{BlockSize: testBS}}, Options{}); err != nil {
		t.Fatal(err)
	}
	fi, _ := os.Stat(d)
	if fi.Mode().Perm() != 0o640 || !fi.ModTime().Equal(mt) {
		t.Errorf("target mode %v mtime %v; want 0640 and %v", fi.Mode().Perm(), fi.ModTime(), mt)
	}
	os.Chmod(d, 0o600)
	os.Chtimes(d, time.Now(), time.Now())
	if _, err := SyncLocal(context.Background(), s, d, Params{Session: Session{BlockSize: testBS, NoTimes: true, NoPerms: true}}, Options{}); err != nil {
		t.Fatal(err)
	}
	fi, _ = os.Stat(d)
	if fi.Mode().Perm() != 0o600 || fi.ModTime().Equal(mt) {
		t.Errorf("--no-times/--no-perms not honoured: %v %v", fi.Mode().Perm(), fi.ModTime())
	}
}

func TestBlockDevices(t *testing.T) {
	checkNoLeak(t)
	const size = 4 << 20
	src := randBytes(24, size)
	srcDev := sysiotest.LoopDevice(t, src)
	dstDev := sysiotest.LoopDevice(t, flip(src, 5, 1<<20, 3<<20+7))
	p := Params{Session: Session{BlockSize: 64 << 10, Workers: 2}}
	st, err := SyncLocal(context.Background(), srcDev, dstDev, p, Options{})
	if err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(dstDev)
	if !bytes.Equal(got, src) || st.BlocksChanged != 3 || st.BytesTotal != size {
		t.Fatalf("loop to loop: equal=%v stats %+v", bytes.Equal(got, src), st)
	}
	// File to a larger device: the tail is kept.
	s, _ := writeCase(t, syncCase{src: src[:size/2], dst: []byte{}})
	if _, err := SyncLocal(context.Background(), s, dstDev, p, Options{}); err != nil {
		t.Fatal(err)
	}
	got, _ = os.ReadFile(dstDev)
	if !bytes.Equal(got, src) {
		t.Fatal("file to device: content or kept tail wrong")
	}
	// A device smaller than the source is refused before anything is written.
	small := sysiotest.LoopDevice(t, make([]byte, 1<<20))
	big, _ := writeCase(t, syncCase{src: src, dst: []byte{}})
	if _, err := SyncLocal(context.Background(), big, small, p, Options{}); err == nil || !strings.Contains(err.Error(), "less than the source") {
		t.Fatalf("small device: err = %v", err)
	}
	got, _ = os.ReadFile(small)
	if !bytes.Equal(got, make([]byte, 1<<20)) {
		t.Fatal("small device was written")
	}
}

func TestOwner(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to give files away")
	}
	checkNoLeak(t)
	src := randBytes(25, 2*testBS)
	s, d := writeCase(t, syncCase{src: src, dst: nil})
	if err := os.Chown(s, 1234, 5678); err != nil {
		t.Fatal(err)
	}
	if _, err := SyncLocal(context.Background(), s, d, Params{Session: Session{BlockSize: testBS}}, Options{}); err != nil {
		t.Fatal(err)
	}
	if st := statT(t, d); st.Uid != 0 {
		t.Errorf("owner copied without --owner: uid %d", st.Uid)
	}
	if _, err := SyncLocal(context.Background(), s, d, Params{Session: Session{BlockSize: testBS, Owner: true}}, Options{}); err != nil {
		t.Fatal(err)
	}
	if st := statT(t, d); st.Uid != 1234 || st.Gid != 5678 {
		t.Errorf("--owner: uid %d gid %d, want 1234 5678", st.Uid, st.Gid)
	}
}

func statT(t *testing.T, path string) *syscall.Stat_t {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Sys().(*syscall.Stat_t)
}

// TestBufferFreeList: block buffers come back from their size's free list,
// which keeps at most freeBytes of them (at least freeMin).
func TestBufferFreeList(t *testing.T) {
	const size = 32 << 20 // freeBytes/size = 2 < freeMin
	l := freeListOf(size)
	t.Cleanup(func() { l.mu.Lock(); l.bufs = nil; l.mu.Unlock() })
	var bufs [][]byte
	for range freeMin + 3 {
		bufs = append(bufs, getBuf(size, 100))
	}
	for _, b := range bufs {
		putBuf(size, b)
	}
	if n := len(l.bufs); n != freeMin {
		t.Fatalf("free list of %d-byte buffers holds %d, want %d", size, n, freeMin)
	}
	if b := getBuf(size, size); &b[0] != &bufs[freeMin-1][0] {
		t.Fatal("getBuf did not take the last buffer listed")
	}
}
