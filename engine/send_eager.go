package engine

import (
	"sync/atomic"

	"github.com/pdiffagent/pdiffagent/wire"
)

// Eager batches (doc.go, "Eager hashing"). When few blocks of a stripe
// differ, the sender's reader hashes each block with both tiers as it
// reads it, into one scratch buffer of its own that stays in the CPU's
// cache, and keeps none of them: the verdict then only compares, and the
// few blocks to send are read again. When many differ it keeps every
// block, as before, and hashes tier 2 only for the blocks the receiver
// offers, so a fully changed file pays no tier-2 hash on the sender.

// eagerBelow is the need rate (in 1/1024) under which a worker's reader
// hashes eagerly: at 12.5% of the blocks needed, the tier-2 hashes of the
// needed blocks and their second read cost about what reading every block
// into a held buffer costs (measured: pread of 1 GiB cached into a buffer
// reused at once 0.11-0.15 CPU-s, into 32 cycling 1 MiB buffers, as a
// window of held batches is, 0.22-0.27; sha256 0.6 CPU-s/GiB).
const eagerBelow = 1024 / 8

// eagerRate is a worker's moving need rate: decide observes each verdict,
// the reader reads it before each batch. It starts unknown, and unknown
// keeps blocks (a fully changed file pays nothing before its first
// verdict).
type eagerRate struct {
	rate atomic.Int64 // in 1/1024 of the blocks, -1 while unknown
	mode int8         // Options.testEager
}

func newEagerRate(mode int8) *eagerRate {
	e := &eagerRate{mode: mode}
	e.rate.Store(-1)
	return e
}

// observe takes a verdict's count of needed blocks (collisions included)
// out of n: a moving average weighting the last batch by a quarter.
func (e *eagerRate) observe(need, n int) {
	if n <= 0 {
		return
	}
	r := int64(need) * 1024 / int64(n)
	if old := e.rate.Load(); old >= 0 {
		r = old - old/4 + r/4
	}
	e.rate.Store(r)
}

// eager says whether the next batch is hashed eagerly.
func (e *eagerRate) eager() bool {
	switch {
	case e.mode > 0:
		return true
	case e.mode < 0:
		return false
	}
	r := e.rate.Load()
	return r >= 0 && r < eagerBelow
}

// eagerAllowed says whether this sender may hash eagerly at all: not when
// its blocks come through a mapping or a record (nothing to copy), nor
// with O_DIRECT (a second read would go to the disk).
func (s *sender) eagerAllowed(pb *pendingBatch) bool {
	return pb.known == nil && pb.view == nil && !s.src.File.Direct()
}

// readEager reads block blk (ln bytes) into scratch and hashes it with
// both tiers into pb's slot i.
func (s *sender) readEager(pb *pendingBatch, i int, blk int64, ln int, scratch []byte, strong *strongHasher) error {
	if err := s.readInto(scratch[:ln], blk); err != nil {
		return err
	}
	pb.weak[i] = s.weak(scratch[:ln])
	pb.strong[i] = strong.sum(scratch[:ln])
	pb.read[i] = true
	s.tot.eager.Add(1)
	if s.opt.testAfterEager != nil {
		s.opt.testAfterEager(blk)
	}
	return nil
}

// eagerStrong is block i's tier-2 hash when the reader computed it.
func (b *pendingBatch) eagerStrong(i int) (sum [wire.StrongSize]byte, ok bool) {
	if b.eager && b.read[i] {
		return b.strong[i], true
	}
	return sum, false
}

// unread says whether block i of b was read and hashed, not kept: the
// search reads it from the source when it wants it (sendRoll.fill).
func (b *pendingBatch) unread(i int) bool {
	return b.eager && b.read[i] && b.bufs[i] == nil
}

// fetch reads block i of an eager batch again when it must travel; a
// block in hand or a hole is left as it is.
func (s *sender) fetch(b *pendingBatch, i int) ([]byte, error) {
	if !b.eager || !b.read[i] || b.bufs[i] != nil {
		return b.bufs[i], nil
	}
	buf, err := s.readBlock(b.first + int64(i))
	if err != nil {
		return nil, err
	}
	b.bufs[i] = buf // released with the batch unless it goes with a message
	return buf, nil
}
