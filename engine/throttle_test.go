package engine

import (
	"context"
	"errors"
	"testing"

	"github.com/pdiffagent/pdiffagent/wire"
)

// TestThrottleStreamAbort: a Send waiting for the rate ends at Abort with
// the abort's error, and a Recv counts what it received against the same
// rate.
func TestThrottleStreamAbort(t *testing.T) {
	r := NewRate(4<<10, 4<<10) // 4 KiB/s: a 64 KiB block waits 15 s
	a, b := Pipe()
	ta := ThrottleStream(a, r)
	if ta.Send(&wire.WeakBatch{First: 1, Hashes: []uint64{1}}) != nil { // within the first burst
		t.Fatal("first small message did not pass")
	}
	if _, err := b.Recv(); err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() { errc <- ta.Send(&wire.Data{Block: 1, RawLen: 64 << 10, Payload: make([]byte, 64<<10)}) }()
	stop := errors.New("stop")
	ta.Abort(stop)
	if err := <-errc; !errors.Is(err, stop) {
		t.Fatalf("Send after Abort: %v, want the abort's error", err)
	}
	if ThrottleStream(a, nil) != a {
		t.Error("a nil rate wraps the stream")
	}
}

// TestRateWaitChunks: a wait larger than one burst is taken in bursts (the
// limiter refuses a single wait above its burst), and a cancelled context
// ends it with its cause.
func TestRateWaitChunks(t *testing.T) {
	r := NewRate(1<<30, 64<<10)
	if err := r.Wait(context.Background(), 1<<20); err != nil {
		t.Fatalf("a 1 MiB wait at bursts of 64 KiB: %v", err)
	}
	slow := NewRate(4<<10, 4<<10)
	ctx, cancel := context.WithCancelCause(context.Background())
	why := errors.New("why")
	cancel(why)
	if err := slow.Wait(ctx, 1<<20); !errors.Is(err, why) {
		t.Fatalf("cancelled wait: %v", err)
	}
	var none *Rate
	if err := none.Wait(ctx, 1<<30); err != nil {
		t.Fatalf("nil rate: %v", err)
	}
}
