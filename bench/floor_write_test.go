package bench

import (
	"os"
	"testing"
)

// TestFloorWrite: the write floor writes the bytes asked for (an odd tail
// included), flushed, by several writers, and leaves nothing behind.
func TestFloorWrite(t *testing.T) {
	dir := t.TempDir()
	for _, n := range []int64{0, 4096, 9<<20 + 100} {
		d, err := FloorWrite(dir, n, 2)
		if err != nil {
			t.Fatalf("%d bytes: %v", n, err)
		}
		if (d > 0) != (n > 0) {
			t.Errorf("%d bytes in %v", n, d)
		}
	}
	if es, _ := os.ReadDir(dir); len(es) != 0 {
		t.Errorf("left %d files", len(es))
	}
}
