package agent

import (
	"bytes"
	"context"
	"path/filepath"
	"testing"

	"github.com/pdiffagent/pdiffagent/engine"
	"github.com/pdiffagent/pdiffagent/sysio/sysiotest"
	"golang.org/x/sys/unix"
)

// nodeIn makes a block-device node inside dir for the device dev.
func nodeIn(t *testing.T, dir, name, dev string) string {
	t.Helper()
	var st unix.Stat_t
	if err := unix.Stat(dev, &st); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, name)
	if err := unix.Mknod(p, unix.S_IFBLK|0o600, int(st.Rdev)); err != nil {
		t.Skipf("mknod: %v", err)
	}
	return p
}

// Block devices at both ends of push and pull: sizes come from the device,
// results are byte-identical, and a device is refused unless allowed.
func TestBlockDevicesOverTheNetwork(t *testing.T) {
	const size = 4 << 20
	src := randomBytes(71, size)
	p := engine.Params{Session: engine.Session{BlockSize: 64 << 10, Workers: 2}}
	for _, transport := range []string{TransportTCP, TransportQUIC} {
		t.Run(transport, func(t *testing.T) {
			checkGoroutines(t)
			ts := startServer(t, func(c *ServerConfig) { c.AllowDevices = true })
			remoteDev := sysiotest.LoopDevice(t, make([]byte, size))
			nodeIn(t, ts.root, "disk", remoteDev)
			localDev := sysiotest.LoopDevice(t, src)
			cfg := ts.clientConfig(transport)
			// Push from a local device to a served device.
			out, err := Push(context.Background(), cfg, localDev, ts.remote("disk"), p, engine.Options{})
			if err != nil {
				t.Fatal(err)
			}
			if got := readFile(t, remoteDev); !bytes.Equal(got, src) || out.BytesTotal != size {
				t.Fatalf("push device->device: equal=%v, bytes_total %d", bytes.Equal(got, src), out.BytesTotal)
			}
			// Pull from the served device into a fresh local device.
			back := sysiotest.LoopDevice(t, make([]byte, size))
			if _, err := Pull(context.Background(), cfg, ts.remote("disk"), back, p, engine.Options{}); err != nil {
				t.Fatal(err)
			}
			if got := readFile(t, back); !bytes.Equal(got, src) {
				t.Fatal("pull device->device differs")
			}
		})
	}
	t.Run("refused-unless-allowed", func(t *testing.T) {
		ts := startServer(t, nil)
		nodeIn(t, ts.root, "disk", sysiotest.LoopDevice(t, make([]byte, 1<<20)))
		f := filepath.Join(t.TempDir(), "f")
		writeFile(t, f, src[:1<<20])
		_, err := Push(context.Background(), ts.clientConfig(TransportTCP), f, ts.remote("disk"), p, engine.Options{})
		if err == nil {
			t.Fatal("push to a device node accepted without AllowDevices")
		}
	})
}
