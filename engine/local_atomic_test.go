package engine

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pdiffagent/pdiffagent/sysio"
	"github.com/pdiffagent/pdiffagent/sysio/sysiotest"
)

// leftTemps lists replacement temporaries in dir.
func leftTemps(t *testing.T, dir string) []string { return sysiotest.ListDir(t, dir, sysio.TempName) }

func TestSyncLocalAtomic(t *testing.T) {
	checkNoLeak(t)
	src := randBytes(30, 64*testBS+77)
	old := flip(src, 5, 20*testBS, 63*testBS)
	for _, c := range []struct {
		name string
		dst  []byte
	}{{"existing", old}, {"missing", nil}, {"longer", append(append([]byte(nil), src...), 1, 2, 3)}} {
		t.Run(c.name, func(t *testing.T) {
			s, d := writeCase(t, syncCase{src: src, dst: c.dst})
			st, err := SyncLocalAtomic(context.Background(), s, d, Params{Session: Session{BlockSize: testBS, Workers: 3}}, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if got, _ := os.ReadFile(d); !bytes.Equal(got, src) {
				t.Fatal("target differs from the source")
			}
			if !st.Verified {
				t.Error("not verified")
			}
			if c.name == "existing" && (st.BlocksChanged != 3 || st.BlocksConfirmed != st.BlocksTotal-3) {
				t.Errorf("changed %d, confirmed %d of %d: the copy of the old target was not the starting point",
					st.BlocksChanged, st.BlocksConfirmed, st.BlocksTotal)
			}
			if left := leftTemps(t, filepath.Dir(d)); len(left) != 0 {
				t.Errorf("temporary files left: %v", left)
			}
		})
	}
}

// TestSyncLocalAtomicInterrupted: cancelled after blocks were written, the
// target is still the complete old file, and nothing is left beside it.
func TestSyncLocalAtomicInterrupted(t *testing.T) {
	checkNoLeak(t)
	src := randBytes(31, 64*testBS)
	old := randBytes(32, len(src))
	s, d := writeCase(t, syncCase{src: src, dst: old})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	prog := &Progress{}
	// The 9th tier-1 hash waits until the other worker's blocks were
	// written (the mirrored count shows them), then cancels.
	var calls atomic.Int64
	weak := func(b []byte) uint64 {
		if calls.Add(1) == 9 {
			if !sysiotest.WaitUntil(time.Minute, func() bool { return prog.Written.Load() > 0 }) {
				t.Error("nothing written within a minute")
			}
			cancel()
		}
		return DefaultWeak(b)
	}
	_, err := SyncLocalAtomic(ctx, s, d, Params{Session: Session{BlockSize: testBS, Workers: 2}}, Options{Weak: weak, Progress: prog})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if prog.Written.Load() == 0 {
		t.Error("cancelled before anything was written: the test proves nothing")
	}
	if got, _ := os.ReadFile(d); !bytes.Equal(got, old) {
		t.Fatal("the target changed: an interrupted atomic sync must leave the old file")
	}
	if left := leftTemps(t, filepath.Dir(d)); len(left) != 0 {
		t.Errorf("temporary files left: %v", left)
	}
}

func TestSyncLocalAtomicRefuses(t *testing.T) {
	src := randBytes(33, 8*testBS)
	s, d := writeCase(t, syncCase{src: src, dst: src})
	if _, err := SyncLocalAtomic(context.Background(), s, s, Params{Session: Session{BlockSize: testBS, Workers: 1}}, Options{}); err == nil ||
		!strings.Contains(err.Error(), "same file") {
		t.Errorf("same file: %v", err)
	}
	link := filepath.Join(filepath.Dir(d), "link")
	if err := os.Symlink(d, link); err != nil {
		t.Skip(err)
	}
	if _, err := SyncLocalAtomic(context.Background(), s, link, Params{Session: Session{BlockSize: testBS, Workers: 1}}, Options{}); !errors.Is(err, sysio.ErrSymlink) {
		t.Errorf("symlink target: %v, want sysio.ErrSymlink", err)
	}
}
