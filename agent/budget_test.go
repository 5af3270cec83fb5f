package agent

import (
	"crypto/rand"
	"strings"
	"testing"
	"time"

	"github.com/pdiffagent/pdiffagent/engine"
	"github.com/pdiffagent/pdiffagent/wire"
)

// A raw client against the memory budget (budget.go): every session's
// workers are fitted into ServerConfig.MaxMemory, fewer granted when
// fewer fit, an Open that fits none waits and then is refused as busy,
// and Data for a block already received is a protocol violation.

// perWorker is a receiving server worker's reservation at testBlock.
func perWorker() int64 {
	return engine.WorkerMemory(engine.Session{BlockSize: testBlock}, false)
}

// sendOpen sends o (a fresh session id) on a new raw stream.
func sendOpen(t *testing.T, ts *testServer, o *wire.Open) *netStream {
	t.Helper()
	if _, err := rand.Read(o.SessionID[:]); err != nil {
		t.Fatal(err)
	}
	ns := rawStream(t, ts, "tcp")
	if err := ns.Send(o); err != nil {
		t.Fatal(err)
	}
	return ns
}

func TestMemoryBudget(t *testing.T) {
	checkGoroutines(t)
	ts := startServer(t, func(c *ServerConfig) {
		c.MaxMemory = 12 * perWorker()
		c.HandshakeTimeout = time.Minute // sessions hold their share while they gather workers
	})
	// One session's share is a quarter of the budget: 8 workers asked, 3
	// granted.
	o := rawOpen(t, wire.OpPush, "share", 16*testBlock, true)
	o.Workers = 8
	s := sendOpen(t, ts, o)
	r, err := expect[*wire.OpenReply](s, time.Now().Add(5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if r.Workers != 3 {
		t.Fatalf("granted %d workers, want a quarter of the budget, 3", r.Workers)
	}
	// Two more hold 6 of the other 9; 8 workers asked, 3 fit.
	var held []*netStream
	for _, name := range []string{"h1", "h2"} {
		o := rawOpen(t, wire.OpPush, name, 16*testBlock, true)
		o.Workers = 3
		h := sendOpen(t, ts, o)
		if _, err := expect[*wire.OpenReply](h, time.Now().Add(5*time.Second)); err != nil {
			t.Fatal(err)
		}
		held = append(held, h)
	}

	o = rawOpen(t, wire.OpPush, "a", 16*testBlock, true)
	o.Workers = 8
	a := sendOpen(t, ts, o)
	r, err = expect[*wire.OpenReply](a, time.Now().Add(5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if r.Workers != 3 {
		t.Fatalf("granted %d workers, want the 3 the budget holds", r.Workers)
	}
	if got := ts.mem.inUse(); got != 12*perWorker() {
		t.Fatalf("budget in use %d, want all %d", got, 12*perWorker())
	}
	// The budget is full: the next Open waits, and gets in once a ends.
	b := sendOpen(t, ts, rawOpen(t, wire.OpPush, "b", 4*testBlock, true))
	if !waitFor(10*time.Second, func() bool { return strings.Contains(ts.log.String(), "waits for room in the memory budget") }) {
		t.Fatal("second Open did not wait for the budget")
	}
	a.Abort(nil)
	a.release()
	r, err = expect[*wire.OpenReply](b, time.Now().Add(10*time.Second))
	if err != nil {
		t.Fatalf("Open after the budget was freed: %v", err)
	}
	if r.Workers != 1 {
		t.Fatalf("granted %d workers, want 1", r.Workers)
	}
	// Data for a block already received ends the session.
	if err := b.Send(block(0, testBlock)); err != nil {
		t.Fatal(err)
	}
	if err := b.Send(block(0, testBlock)); err != nil {
		t.Fatal(err)
	}
	wantDisconnect(t, b, wire.CodeBadRequest, "Data for block 0 again")
	b.release()
	for _, h := range append(held, s) {
		h.Abort(nil)
		h.release()
	}
	if !waitFor(10*time.Second, func() bool { return ts.mem.inUse() == 0 }) {
		t.Fatalf("budget in use %d after every session ended", ts.mem.inUse())
	}
}

func TestMemoryBudgetRefusal(t *testing.T) {
	checkGoroutines(t)
	ts := startServer(t, func(c *ServerConfig) { c.MaxMemory = perWorker(); c.HandshakeTimeout = time.Second })
	// One running session takes the whole budget...
	a := sendOpen(t, ts, rawOpen(t, wire.OpPush, "a", 4*testBlock, true))
	if _, err := expect[*wire.OpenReply](a, time.Now().Add(5*time.Second)); err != nil {
		t.Fatal(err)
	}
	// ...so the next is refused as busy after the handshake timeout.
	b := sendOpen(t, ts, rawOpen(t, wire.OpPush, "b", 4*testBlock, true))
	wantDisconnect(t, b, wire.CodeBusy, "memory budget")
	b.release()
	// A block size whose one worker exceeds the budget is refused at once.
	o := rawOpen(t, wire.OpPush, "c", 4*testBlock, true)
	o.BlockSize = 2 * testBlock
	o.End = 0
	c := sendOpen(t, ts, o)
	wantDisconnect(t, c, wire.CodeDenied, "--max-memory")
	c.release()
	if !waitFor(10*time.Second, func() bool { return dirNames(t, ts.root) == "a" }) {
		t.Fatalf("refused sessions left files: %s", dirNames(t, ts.root))
	}
	a.Abort(nil)
	a.release()
}
