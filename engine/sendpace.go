package engine

import (
	"context"
	"time"
)

// readPace sets how far a sender worker's reader runs ahead of its
// decider, in batches read (or being read) and not yet decided: at most
// windowBatches+2 (windowBatches handed over, one being read, one being
// decided: the bound the receiver keeps to, buffers.go), and at least
// paceMin.
//
// The read-ahead is there to hide the verdict's round trip: the reader
// sends a batch's WeakBatch as it hands the batch over, and the decider
// waits for the Verdict. When the verdicts come back before the decider
// asks for them (the stream is the bottleneck: a push whose blocks all
// differ), reading further ahead only makes the buffers colder: a block
// read 20 MiB before it is encrypted has left the caches, and both ends
// then move every byte to and from memory. A fully replaced 1 GiB push
// over TCP on the 2-core development VM (1M blocks, 2 workers), three sets
// of 6-8 interleaved runs against the whole window (the first two beside
// other changes): both ends' CPU-s median 8%, 2% and 7% lower, the time
// 7% lower, 1% higher and 3% lower (runs there differ by up to 40%). So
// the decider lowers the limit while its verdicts are there when it asks
// (paceShrinkAfter in a row), and raises it, up to the whole window,
// whenever it had to wait for two in a row (paceWait or more each; a
// single wait is more often the receiver's turn on a busy core than a
// round trip): a long round trip gets the whole window back within a few
// batches.
//
// The reader starts at paceMin, one batch read while one is decided, and
// the window grows only when verdicts keep it waiting: every block buffer
// read ahead is also memory the process touches for the first time, which
// this VM zeroes (and its host backs) at 0.1-2.5 ms per MiB. Starting at
// the whole window and shrinking to 3 batches, a fully replaced 1 GiB
// push's client peaked at 67-69 MB; starting and staying at 2, 55-59 MB,
// and in two sets of 5 and 6 interleaved runs both ends' CPU-s median fell
// 12% and 4%, the time 11% and 3%; a 10%-changed push (the window grows
// while the receiver reads and hashes) 0.68 against 0.71 s.
type readPace struct {
	tokens chan struct{} // the reader takes one per batch; the decider gives them back
	limit  int           // tokens in circulation
	floor  int           // the least limit while the search looks ahead (atLeast)
	quick  int           // verdicts in a row that were there when asked
	slow   int           // verdicts in a row that took paceWait or more
}

const (
	paceMax         = windowBatches + 2
	paceMin         = 2
	paceShrinkAfter = 2
	paceGrowAfter   = 2
	paceWait        = 500 * time.Microsecond
	paceQuick       = 50 * time.Microsecond
)

func newReadPace() *readPace {
	p := &readPace{tokens: make(chan struct{}, paceMax), limit: paceMin}
	for range paceMin {
		p.tokens <- struct{}{}
	}
	return p
}

// take waits until the reader may read another batch.
func (p *readPace) take(ctx context.Context) error {
	select {
	case <-p.tokens:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// done is the decider's, once a batch is decided: waited is how long its
// Verdict took to come after the decider asked for it.
func (p *readPace) done(waited time.Duration) {
	give := 1
	switch {
	case waited >= paceWait:
		p.quick = 0
		if p.slow++; p.slow >= paceGrowAfter && p.limit < paceMax {
			p.slow = 0
			p.limit++
			give++
		}
	case waited < paceQuick:
		p.slow = 0
		if p.quick++; p.quick >= paceShrinkAfter && p.limit > max(paceMin, p.floor) {
			p.quick = 0
			p.limit--
			give--
		}
	default:
		p.quick, p.slow = 0, 0
	}
	for range give {
		p.tokens <- struct{}{} // never blocks: at most limit tokens are out or in
	}
}

// atLeast keeps the limit at n or more (at most paceMax) until it is
// called again with less: the decider's search waits for the verdicts of
// the batches after the one it decides (lookAhead), which the reader must
// be free to read meanwhile. The decider's, as done is.
func (p *readPace) atLeast(n int) {
	p.floor = min(n, paceMax)
	for p.limit < p.floor {
		p.limit++
		p.tokens <- struct{}{} // never blocks: at most limit tokens are out or in
	}
}
