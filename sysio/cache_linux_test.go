package sysio

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/pdiffagent/pdiffagent/sysio/sysiotest"
)

// TestDirectReadDropsCache reads a cold file, unaligned tail included,
// under DirectOn: through O_DIRECT, and through the buffered fallback after
// the kernel refused O_DIRECT; neither leaves pages in the cache. Buffered
// reads (DirectOff) do, which shows the count can fail.
func TestDirectReadDropsCache(t *testing.T) {
	dir := t.TempDir()
	if !directFS(t, dir) {
		t.Skip("the test directory's filesystem may refuse O_DIRECT")
	}
	for _, c := range []struct {
		name   string
		mode   DirectMode
		refuse bool
		cached bool
	}{
		{"direct", DirectOn, false, false},
		{"refused", DirectOn, true, false},
		{"buffered", DirectOff, false, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "f")
			data := make([]byte, 16*Alignment+123)
			pattern(data, 5)
			if err := os.WriteFile(path, data, 0o644); err != nil {
				t.Fatal(err)
			}
			f, err := Open(path, ReadOnly, Options{Direct: c.mode})
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			sysiotest.DropCache(t, path)
			if n := sysiotest.CachedPages(t, path); n != 0 {
				t.Skipf("%d pages stay cached after DONTNEED", n)
			}
			reads, _ := countDirect(t, c.refuse)
			p := AlignedBuffer(len(data))
			for off := 0; off < len(data); off += 4 * Alignment {
				q := p[off:min(off+4*Alignment, len(data))]
				if _, err := f.ReadAt(q, int64(off)); err != nil {
					t.Fatal(err)
				}
			}
			if string(p) != string(data) {
				t.Fatal("read back other data")
			}
			if c.mode == DirectOn && reads.Load() == 0 {
				t.Error("no O_DIRECT read was tried")
			}
			if n := sysiotest.CachedPages(t, path); (n > 0) != c.cached {
				t.Errorf("%d pages cached after reading, want cached=%v", n, c.cached)
			}
		})
	}
}
