package engine

import (
	"context"
	"errors"
	"sync"
	"testing"
)

// TestInterruptedStatsCountWrites: a sync cancelled in the middle of its
// only stripe reports the blocks it wrote as changed (a stripe counts them
// at its end, which never came), so an interrupted run's report does not
// say "0 blocks changed" beside megabytes written.
func TestInterruptedStatsCountWrites(t *testing.T) {
	checkNoLeak(t)
	// One worker, one stripe of 8 batches, every block different. The
	// stream carries batch 1's data before batch 5's hashes, and the
	// writer queue is short, so by the time the receiver hashes batch 5
	// blocks have landed: the first tier-1 hash that sees a write cancels,
	// without waiting, and the stripe cannot have ended.
	src := randBytes(41, 8*batchBytes)
	s, d := writeCase(t, syncCase{src: src, dst: randBytes(42, len(src))})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	prog := &Progress{}
	var once sync.Once
	weak := func(b []byte) uint64 {
		if prog.Written.Load() > 0 {
			once.Do(cancel)
		}
		return DefaultWeak(b)
	}
	st, err := SyncLocal(ctx, s, d, Params{Session: Session{BlockSize: testBS, Workers: 1}}, Options{Weak: weak, Progress: prog})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if st.BytesWritten == 0 {
		t.Fatal("cancelled before anything was written: the test proves nothing")
	}
	if st.BlocksChanged*testBS < st.BytesWritten {
		t.Errorf("blocks_changed %d but %d bytes written", st.BlocksChanged, st.BytesWritten)
	}
	if st.Verified {
		t.Error("an interrupted sync reported verified")
	}
}
