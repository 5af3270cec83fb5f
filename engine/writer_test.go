package engine

import (
	"bytes"
	"context"
	"errors"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"
)

// runRecorder holds the first write until its writer's queue is full (or
// holds the rest of the file), so that the next write finds a whole run
// queued, and records every write.
type runRecorder struct {
	mu     sync.Mutex
	runs   [][2]int64 // first block, blocks
	failAt int        // the write (1-based) that fails, 0: none
}

var errInjected = errors.New("injected write error")

func (rr *runRecorder) hook(bw *blockWriter, first int64, blocks int) error {
	rr.mu.Lock()
	rr.runs = append(rr.runs, [2]int64{first, int64(blocks)})
	k := len(rr.runs)
	rr.mu.Unlock()
	if k == 1 {
		// The receiving worker goes on filling the queue while this
		// write is held, until it is full or holds every block left, or
		// the session ends.
		left := int(bw.r.p.Blocks() - first - int64(blocks))
		for len(bw.q) < min(cap(bw.q), left) && bw.r.sess.ctx.Err() == nil {
			runtime.Gosched()
		}
	}
	if k == rr.failAt {
		return errInjected
	}
	return nil
}

func withWriteHook(t *testing.T, rr *runRecorder) {
	testHookWriteRun = rr.hook
	t.Cleanup(func() { testHookWriteRun = nil })
}

const runBS = 64 << 10 // runBlocks(runBS) == maxRunBlocks

// TestWriteRuns: consecutive changed blocks found queued together are
// written in one write each run, and the target ends byte for byte equal.
func TestWriteRuns(t *testing.T) {
	checkNoLeak(t)
	const blocks = 40
	src := randBytes(31, blocks*runBS)
	s, d := writeCase(t, syncCase{src: src, dst: randBytes(32, len(src))})
	rr := &runRecorder{}
	withWriteHook(t, rr)
	p := Params{Session: Session{BlockSize: runBS, Workers: 1, WholeFile: true}}
	st, err := SyncLocal(context.Background(), s, d, p, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(d); !bytes.Equal(got, src) {
		t.Fatal("target differs")
	}
	var n, most int64
	next := int64(0)
	for _, r := range rr.runs {
		if r[0] != next {
			t.Fatalf("writes %v: a run begins at block %d, want %d", rr.runs, r[0], next)
		}
		next += r[1]
		n += r[1]
		most = max(most, r[1])
	}
	t.Logf("%d blocks in %d writes: %v", n, len(rr.runs), rr.runs)
	if n != blocks || st.BlocksChanged != blocks {
		t.Fatalf("%d blocks written, %d changed, want %d", n, st.BlocksChanged, blocks)
	}
	if most != maxRunBlocks || len(rr.runs) >= blocks {
		t.Errorf("%d blocks in %d writes, the longest %d blocks: want a run of %d", n, len(rr.runs), most, maxRunBlocks)
	}
}

// TestWriteRunFails: a write error in a run fails the session with the
// target's name; the blocks before the run are on the disk, the run's and
// later ones are not.
func TestWriteRunFails(t *testing.T) {
	checkNoLeak(t)
	const blocks = 40
	src := randBytes(33, blocks*runBS)
	old := randBytes(34, len(src))
	s, d := writeCase(t, syncCase{src: src, dst: old})
	rr := &runRecorder{failAt: 2}
	withWriteHook(t, rr)
	p := Params{Session: Session{BlockSize: runBS, Workers: 1, WholeFile: true}}
	_, err := SyncLocal(context.Background(), s, d, p, Options{})
	if err == nil || !strings.Contains(err.Error(), errInjected.Error()) || !strings.Contains(err.Error(), d) {
		t.Fatalf("err = %v, want the injected error naming %s", err, d)
	}
	if len(rr.runs) != 2 || rr.runs[1][1] < 2 {
		t.Fatalf("writes %v: want a first write and a failed run", rr.runs)
	}
	got, _ := os.ReadFile(d)
	done := rr.runs[1][0] * runBS
	if !bytes.Equal(got[:done], src[:done]) {
		t.Error("the blocks written before the failed run differ from the source")
	}
	if !bytes.Equal(got[done:], old[done:]) {
		t.Error("the failed run or a later block was written")
	}
}
