//go:build linux

package sysio

import (
	"bytes"
	"errors"
	"io"
	"os"
	"testing"

	"github.com/pdiffagent/pdiffagent/sysio/sysiotest"
)

// TestLoopDevice needs root and losetup: Size must come from the ioctl,
// and positional I/O must work on the device.
func TestLoopDevice(t *testing.T) {
	const size = 8 << 20
	dev := sysiotest.LoopDevice(t, make([]byte, size))
	f, err := Open(dev, ReadWrite, Options{Direct: DirectOn})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if !f.IsDevice() {
		t.Fatal("IsDevice false on a loop device")
	}
	if n, err := f.Size(); n != size || err != nil {
		t.Fatalf("Size = %d, %v", n, err)
	}
	if n, _, mode, err := f.Stat(); n != size || err != nil || mode&os.ModeDevice == 0 {
		t.Fatalf("Stat = %d, %v, %v", n, mode, err)
	}
	t.Logf("%s: direct %v", dev, f.Direct())
	for _, c := range []struct {
		off     int64
		n       int
		aligned bool
	}{{1 << 20, 1 << 20, true}, {12345, 7000, false}, {size - 4096, 4096, true}} {
		p := buf(c.n, c.aligned)
		pattern(p, int(c.off))
		if _, err := f.WriteAt(p, c.off); err != nil {
			t.Fatal(err)
		}
		q := buf(c.n, c.aligned)
		if _, err := f.ReadAt(q, c.off); err != nil || !bytes.Equal(p, q) {
			t.Fatalf("read back at %d: %v", c.off, err)
		}
	}
	if _, err := f.ReadAt(make([]byte, 8192), size-4096); err != io.EOF {
		t.Fatalf("read past the device end: %v", err)
	}
	if err := f.Truncate(0); !errors.Is(err, ErrDevice) {
		t.Fatalf("Truncate on device: %v", err)
	}
	if err := f.Allocate(0, 4096); err != nil {
		t.Fatalf("Allocate on device: %v", err)
	}
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
}
