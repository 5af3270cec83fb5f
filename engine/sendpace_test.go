package engine

import (
	"context"
	"testing"
	"time"
)

// TestReadPace: the reader starts paceMin batches ahead, long waits raise
// its lead to the whole window, verdicts that are there when asked lower
// it to paceMin batches, two long waits in a row raise it again up to
// the whole window, and a single long wait does not; the tokens handed
// out always match the limit.
func TestReadPace(t *testing.T) {
	p := newReadPace()
	ctx := context.Background()
	out := 0 // tokens the reader holds (batches read and not yet decided)
	take := func() {
		t.Helper()
		for out < p.limit {
			if err := p.take(ctx); err != nil {
				t.Fatal(err)
			}
			out++
		}
		if len(p.tokens) != 0 {
			t.Fatalf("limit %d, %d taken, %d left", p.limit, out, len(p.tokens))
		}
	}
	decide := func(waited time.Duration) {
		t.Helper()
		out--
		p.done(waited)
		take()
	}
	take()
	if out != paceMin {
		t.Fatalf("the reader starts %d batches ahead, want %d", out, paceMin)
	}
	for range 2 * (paceMax - paceMin) {
		decide(10 * time.Millisecond)
	}
	if p.limit != paceMax {
		t.Fatalf("long waits from the start left the limit at %d, want %d", p.limit, paceMax)
	}
	for range 20 {
		decide(time.Microsecond)
	}
	if p.limit != paceMin {
		t.Fatalf("quick verdicts left the limit at %d, want %d", p.limit, paceMin)
	}
	decide(time.Millisecond)
	decide(time.Microsecond)
	decide(time.Millisecond)
	if p.limit != paceMin {
		t.Fatalf("single waits raised the limit to %d", p.limit)
	}
	for range 2 * (paceMax - paceMin) {
		decide(10 * time.Millisecond)
	}
	if p.limit != paceMax {
		t.Fatalf("long waits left the limit at %d, want %d", p.limit, paceMax)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if err := p.take(cctx); err == nil {
		t.Fatal("take with no token left and the context ended did not fail")
	}
}
