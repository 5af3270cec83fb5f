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

// TestReadPaceAtLeast: the look-ahead's floor hands the reader tokens up
// to it at once, quick verdicts do not lower the limit below it, and
// once it is lifted they lower the limit to paceMin again; a floor above
// paceMax stops there.
func TestReadPaceAtLeast(t *testing.T) {
	p := newReadPace()
	p.atLeast(4)
	if p.limit != 4 || len(p.tokens) != 4 {
		t.Fatalf("atLeast(4): limit %d, %d tokens free, want 4 and 4", p.limit, len(p.tokens))
	}
	for range 20 {
		<-p.tokens
		p.done(time.Microsecond)
	}
	if p.limit != 4 {
		t.Fatalf("quick verdicts under a floor of 4 left the limit at %d", p.limit)
	}
	p.atLeast(0)
	for range 20 {
		<-p.tokens
		p.done(time.Microsecond)
	}
	if p.limit != paceMin || len(p.tokens) != paceMin {
		t.Fatalf("after the floor: limit %d, %d tokens free, want %d", p.limit, len(p.tokens), paceMin)
	}
	p.atLeast(paceMax + 3)
	if p.limit != paceMax || len(p.tokens) != paceMax {
		t.Fatalf("atLeast(paceMax+3): limit %d, %d tokens free, want %d", p.limit, len(p.tokens), paceMax)
	}
}
