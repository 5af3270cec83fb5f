package agent

import (
	"strings"
	"sync"
	"testing"
	"time"
)

// Strangers at the port cost at most a burst of WARN lines, then one per
// logEvery; the next line says how many were suppressed.
func TestRefusalLogRateLimited(t *testing.T) {
	checkGoroutines(t)
	_, _, stranger := ids()
	ts := startServer(t, nil)
	var mu sync.Mutex
	clock := time.Unix(1e9, 0)
	ts.refusals.now = func() time.Time { mu.Lock(); defer mu.Unlock(); return clock }
	const want = "refused client "
	cfg := ts.clientConfig("tcp")
	cfg.Identity = stranger
	const tries = logBurst + 5
	for range tries {
		if err := tryPush(t, ts, cfg); err == nil {
			t.Fatal("a stranger's push succeeded")
		}
	}
	// Every refusal is in before the count: the server refused them all
	// during their handshakes, which the client waited for.
	if n := strings.Count(ts.log.String(), want); n != logBurst {
		t.Fatalf("%d refusals logged %d times; want the burst, %d", tries, n, logBurst)
	}
	mu.Lock()
	clock = clock.Add(time.Minute)
	mu.Unlock()
	if err := tryPush(t, ts, cfg); err == nil {
		t.Fatal("a stranger's push succeeded")
	}
	if !waitFor(10*time.Second, func() bool { return strings.Contains(ts.log.String(), "suppressed=5") }) {
		t.Fatalf("no line says 5 were suppressed:\n%s", ts.log.String())
	}
}
