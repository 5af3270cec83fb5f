package engine

import (
	"bytes"
	"context"
	"errors"
	"os"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/pdiffagent/pdiffagent/sysio"
)

// TestEarlyFlushes: a sync that writes many flush intervals' worth starts
// early flushes of its target while it writes (at most one at a time),
// and the target ends byte for byte equal, also when its durability is
// deferred (a tree's). A dry run flushes nothing.
func TestEarlyFlushes(t *testing.T) {
	checkNoLeak(t)
	src := randBytes(71, 64*runBS)
	for _, c := range []struct {
		name        string
		dryRun      bool
		defer_      bool
		wantFlushes bool
	}{{"sync", false, false, true}, {"dry run", true, false, false}, {"deferred", false, true, true}} {
		t.Run(c.name, func(t *testing.T) {
			s, d := writeCase(t, syncCase{src: src, dst: randBytes(72, len(src))})
			var flushes, running, overlap atomic.Int64
			opt := Options{DeferSync: c.defer_, testFlushEvery: 4 * runBS, testFlush: func(f *sysio.File) error {
				if running.Add(1) > 1 {
					overlap.Add(1)
				}
				defer running.Add(-1)
				flushes.Add(1)
				return f.SyncData()
			}}
			p := Params{Session: Session{BlockSize: runBS, Workers: 2, DryRun: c.dryRun}}
			st, err := SyncLocal(context.Background(), s, d, p, opt)
			if err != nil {
				t.Fatal(err)
			}
			if !c.dryRun {
				if got, _ := os.ReadFile(d); !bytes.Equal(got, src) || st.BlocksChanged != 64 {
					t.Fatalf("target differs from the source (%d blocks changed, want 64)", st.BlocksChanged)
				}
			}
			n := flushes.Load()
			t.Logf("%d early flushes for %d bytes written", n, st.BytesWritten)
			if c.wantFlushes && n == 0 {
				t.Error("no early flush while 16 intervals were written")
			}
			if !c.wantFlushes && n != 0 {
				t.Errorf("%d early flushes, want none", n)
			}
			if n > 16 {
				t.Errorf("%d early flushes, more than one per %d bytes written", n, 4*runBS)
			}
			if overlap.Load() != 0 {
				t.Error("two early flushes ran at once")
			}
		})
	}
}

// TestEarlyFlushFails: a failed early flush fails the sync with its error,
// though the final fsync then succeeds (Linux reports a write-back error
// once per descriptor).
func TestEarlyFlushFails(t *testing.T) {
	checkNoLeak(t)
	src := randBytes(73, 32*runBS)
	s, d := writeCase(t, syncCase{src: src, dst: randBytes(74, len(src))})
	errFlush := errors.New("injected flush error")
	var calls atomic.Int64
	opt := Options{testFlushEvery: 4 * runBS, testFlush: func(*sysio.File) error {
		calls.Add(1)
		return errFlush
	}}
	p := Params{Session: Session{BlockSize: runBS, Workers: 1}}
	_, err := SyncLocal(context.Background(), s, d, p, opt)
	if err == nil || !strings.Contains(err.Error(), errFlush.Error()) || !strings.Contains(err.Error(), d) {
		t.Fatalf("err = %v, want the early flush's error naming %s (%d flushes)", err, d, calls.Load())
	}
}
