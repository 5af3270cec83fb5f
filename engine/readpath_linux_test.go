package engine

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/pdiffagent/pdiffagent/sysio"
	"github.com/pdiffagent/pdiffagent/sysio/sysiotest"
	"golang.org/x/sys/unix"
)

// coldPair writes a source and a target that differs in a few blocks,
// both flushed and dropped from the page cache.
func coldPair(t *testing.T, dir string) (src, dst string, want []byte) {
	t.Helper()
	want = randBytes(11, 64*testBS+100)
	src, dst = filepath.Join(dir, "src"), filepath.Join(dir, "dst")
	for _, w := range []struct {
		path string
		data []byte
	}{{src, want}, {dst, flip(want, 5, 20*testBS, 63*testBS+7)}} {
		if err := os.WriteFile(w.path, w.data, 0o644); err != nil {
			t.Fatal(err)
		}
		sysiotest.DropCache(t, w.path)
	}
	return src, dst, want
}

// directWorks reports whether dir's filesystem takes O_DIRECT reads.
func directWorks(t *testing.T, dir string) bool {
	p := filepath.Join(dir, "probe")
	if err := os.WriteFile(p, make([]byte, sysio.Alignment), 0o644); err != nil {
		t.Fatal(err)
	}
	defer os.Remove(p)
	f, err := sysio.Open(p, sysio.ReadOnly, sysio.Options{Direct: sysio.DirectOn})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	return f.Direct()
}

// TestDirectReadBypassesCache syncs a cold pair with O_DIRECT reads: the
// source must stay out of the page cache, as it does not with buffered
// reads (the control, which shows that the count can fail).
func TestDirectReadBypassesCache(t *testing.T) {
	dir := t.TempDir()
	if !directWorks(t, dir) {
		t.Skip("the test directory's filesystem refuses O_DIRECT")
	}
	for _, c := range []struct {
		name   string
		opt    Options
		cached bool
	}{{"direct", Options{Direct: sysio.DirectOn}, false}, {"buffered", Options{}, true}} {
		t.Run(c.name, func(t *testing.T) {
			src, dst, want := coldPair(t, t.TempDir())
			if n := sysiotest.CachedPages(t, src); n != 0 {
				t.Skipf("%d pages of the source stay cached after DONTNEED", n)
			}
			st, err := SyncLocal(context.Background(), src, dst, Params{Session: Session{BlockSize: testBS, Workers: 2}}, c.opt)
			if err != nil {
				t.Fatal(err)
			}
			if got, _ := os.ReadFile(dst); !bytes.Equal(got, want) || st.BlocksChanged != 3 {
				t.Fatalf("target differs or %d blocks changed, want 3", st.BlocksChanged)
			}
			if n := sysiotest.CachedPages(t, src); (n > 0) != c.cached {
				t.Errorf("%d pages of the source cached after the sync, want cached=%v", n, c.cached)
			}
		})
	}
}

// TestDirectReadTmpfs runs O_DIRECT reads on tmpfs, which refused them
// before Linux 6.6 (sysio's TestDirectReadDropsCache forces the refusal).
func TestDirectReadTmpfs(t *testing.T) {
	var fs unix.Statfs_t
	if unix.Statfs("/dev/shm", &fs) != nil || fs.Type != unix.TMPFS_MAGIC || unix.Access("/dev/shm", unix.W_OK) != nil {
		t.Skip("no writable tmpfs at /dev/shm")
	}
	dir, err := os.MkdirTemp("/dev/shm", "pdiff-direct-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	src, dst, want := coldPair(t, dir)
	st, err := SyncLocal(context.Background(), src, dst, Params{Session: Session{BlockSize: testBS, Workers: 2}}, Options{Direct: sysio.DirectOn})
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(dst); !bytes.Equal(got, want) || st.BlocksChanged != 3 || !st.Verified {
		t.Fatalf("target differs, or %d blocks changed (want 3), or not verified", st.BlocksChanged)
	}
}
