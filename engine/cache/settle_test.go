package cache

import (
	"testing"
	"time"

	"github.com/pdiffagent/pdiffagent/sysio"
	"github.com/pdiffagent/pdiffagent/sysio/sysiotest"
)

// fakeClock holds the coarse clock at a chosen time and advances it only
// when settle sleeps, recording how long it was asked to wait.
type fakeClock struct {
	now    int64
	gran   time.Duration
	sleeps []time.Duration
}

func (c *fakeClock) install(t *testing.T) {
	saved := clock
	t.Cleanup(func() { clock = saved })
	clock.now = func() int64 { return c.now }
	clock.gran = func() time.Duration { return c.gran }
	clock.sleep = func(d time.Duration) {
		c.sleeps = append(c.sleeps, d)
		c.now += int64(d)
	}
}

// TestSettleWaitsOutTheRacyWindow: with the clock still in the tick of the
// file's last change, settle waits until one granule past its ctime, and
// not at all once that is already past.
func TestSettleWaitsOutTheRacyWindow(t *testing.T) {
	f := newFile(t, testBlock, 30)
	id, _ := f.Identity()
	c := &fakeClock{now: id.Ctime, gran: 4 * time.Millisecond}
	c.install(t)
	ids, err := settle([]*sysio.File{f})
	if err != nil {
		t.Fatal(err)
	}
	if ids[0] != id {
		t.Fatalf("identity %+v, want %+v", ids[0], id)
	}
	if c.now < id.Ctime+int64(c.gran) || len(c.sleeps) == 0 {
		t.Fatalf("did not wait out the window: now %d, ctime %d, sleeps %v", c.now, id.Ctime, c.sleeps)
	}
	c.sleeps = nil
	if _, err := settle([]*sysio.File{f}); err != nil || len(c.sleeps) != 0 {
		t.Fatalf("waited again past the window: %v %v", c.sleeps, err)
	}
	// A ctime far ahead of the clock (clock set back): no identity.
	c.now = id.Ctime - int64(time.Minute)
	if _, err := settle([]*sysio.File{f}); err == nil {
		t.Fatal("settled with the clock a minute behind the file")
	}
}

// TestSettleSecondsFilesystem: timestamps that are whole seconds (a
// filesystem storing seconds) make the granule a second.
func TestSettleSecondsFilesystem(t *testing.T) {
	c := &fakeClock{gran: 4 * time.Millisecond}
	c.install(t)
	if g := granule(sysio.Identity{Ctime: 5e9, Mtime: 7e9}); g != int64(time.Second) {
		t.Fatalf("whole-second stamps: granule %d", g)
	}
	if g := granule(sysio.Identity{Ctime: 5e9 + 4e6, Mtime: 7e9}); g != int64(4*time.Millisecond) {
		t.Fatalf("ns stamps: granule %d", g)
	}
}

func TestTimestampGranularity(t *testing.T) {
	g := sysio.TimestampGranularity()
	if g <= 0 || g > time.Second {
		t.Fatalf("granularity %v", g)
	}
	if d := time.Now().UnixNano() - sysio.CoarseNow(); d < -int64(time.Second) || d > int64(time.Second) {
		t.Fatalf("coarse clock %d ns off the real one", d)
	}
}

// TestDeviceOptIn needs root and losetup: a device is Off unless trusted,
// a trusted device record hits, and a change to a sampled block (the
// volume recreated) makes it stale although the device's identity stays.
func TestDeviceOptIn(t *testing.T) {
	img := newFile(t, 64*testBlock, 31)
	dev := sysiotest.LoopDevice(t, sysiotest.ReadFile(t, img.Name()))
	f, err := sysio.Open(dev, sysio.ReadWrite, sysio.Options{Direct: sysio.DirectOff})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	dir := t.TempDir()
	off := newStore(t, Options{Dir: dir})
	if w, err := off.Create(f, 64*testBlock, testBlock, 1); w != nil || err != nil {
		t.Fatalf("record started for an untrusted device: %v", err)
	}
	if _, st := lookup(t, off, f); st != Off {
		t.Fatalf("untrusted device: %v", st)
	}
	s := newStore(t, Options{Dir: dir, TrustDevice: true})
	record(t, s, f)
	if _, st := lookup(t, s, f); st != Hit {
		t.Fatalf("trusted device: %v", st)
	}
	if _, st := lookup(t, off, f); st != Off {
		t.Fatalf("untrusted store used a device record: %v", st)
	}
	if _, err := f.WriteAt(make([]byte, testBlock), 63*testBlock); err != nil { // the last block is sampled
		t.Fatal(err)
	}
	if _, st := lookup(t, s, f); st != Stale {
		t.Fatalf("device with a changed sampled block: %v", st)
	}
}
