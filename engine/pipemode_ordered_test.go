package engine

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
)

// TestOrderedKeepsOrder: jobs that finish out of order are emitted in
// order. The jobs go in groups of four (the workers), and each waits for
// the later ones of its group to finish first: every group finishes in
// reverse. (Each waits only for later jobs of its own group, which are
// dispatched at the latest once it is, so this cannot deadlock.)
func TestOrderedKeepsOrder(t *testing.T) {
	checkNoLeak(t)
	const n, workers = 500, 4
	var inFlight, most atomic.Int64
	finished := make([]chan struct{}, n)
	for j := range finished {
		finished[j] = make(chan struct{})
	}
	i := 0
	next := func(context.Context) (int, bool, error) { i++; return i - 1, i <= n, nil }
	work := func(_ context.Context, j int) (int, error) {
		if k := inFlight.Add(1); k > most.Load() {
			most.Store(k)
		}
		defer inFlight.Add(-1)
		defer close(finished[j])
		if later := j + 1; later < n && later%workers != 0 {
			<-finished[later]
		}
		return j * j, nil
	}
	var got []int
	emit := func(r int) error { got = append(got, r); return nil }
	if err := ordered(context.Background(), workers, next, work, emit, func(int) {}); err != nil {
		t.Fatal(err)
	}
	if len(got) != n {
		t.Fatalf("%d results, want %d", len(got), n)
	}
	for j, r := range got {
		if r != j*j {
			t.Fatalf("result %d is %d: out of order", j, r)
		}
	}
	if most.Load() > workers {
		t.Errorf("%d jobs ran at once with %d workers", most.Load(), workers)
	}
}

func TestOrderedFirstErrorWins(t *testing.T) {
	checkNoLeak(t)
	boom := errors.New("boom")
	for _, stage := range []string{"next", "work", "emit"} {
		var emitted atomic.Int64
		i := 0
		next := func(context.Context) (int, bool, error) {
			if i++; stage == "next" && i == 50 {
				return 0, false, boom
			}
			return i, true, nil // endless: only the error stops it
		}
		work := func(ctx context.Context, j int) (int, error) {
			if stage == "work" && j == 50 {
				return 0, boom
			}
			return j, ctx.Err()
		}
		emit := func(j int) error {
			if stage == "emit" && j == 50 {
				return boom
			}
			emitted.Add(1)
			return nil
		}
		err := ordered(context.Background(), 3, next, work, emit, func(int) {})
		if !errors.Is(err, boom) {
			t.Errorf("%s: got %v, want boom", stage, err)
		}
		// A failing emit comes after every earlier result; a failing job
		// cancels those still running, which are then not emitted.
		if n := emitted.Load(); n > 49 || (stage == "emit" && n != 49) {
			t.Errorf("%s: %d results emitted before the failure of job 50", stage, n)
		}
	}
}
