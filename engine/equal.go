package engine

import (
	"fmt"
	"sync/atomic"

	"github.com/pdiffagent/pdiffagent/engine/cache"

	"github.com/pdiffagent/pdiffagent/wire"
)

// Equal by records (doc.go, "Equal by records"): when both sides' records
// are hits with the same record digest (engine/cache), the copies are
// equal and the session reads and hashes nothing. The receiver offers its
// record's digest before the session (RecordDigest, in the agent's
// OpenReply); a sender whose own record has that digest ends every stripe
// at once, all its blocks confirmed (StripeEnd{Confirmed: blocks} with no
// WeakBatch before it), and puts the record digest in Final in place of
// the session digest. The receiver accepts such a stripe only with
// CapRecordDigest and a record digest of its own, and the session only if
// every stripe ended so and Final's digest is its record's: it then
// commits as after any sync (truncate, fsync, mode and times).

// RecordDigest is the digest of the record of t's file when it is a hit
// that a session with p may use to end at once (no dry run, whole file,
// not --whole-file, --no-cache or --atomic); ok is false otherwise.
func RecordDigest(t *Target, p Params, opt Options) (d [wire.DigestSize]byte, ok bool) {
	if !equalAllowed(p) || opt.Cache == nil || t == nil || t.File == nil || t.Atomic() {
		return d, false
	}
	// Inspect, not Lookup: an offer only (the receiver's session looks its
	// record up, trust rule and all, before it accepts), which leaves a
	// stale record for that lookup to find and report.
	rec, current, err := opt.Cache.Inspect(t.File)
	if err != nil || rec == nil {
		return d, false
	}
	defer rec.Close()
	ok = current && rec.HasDigest && rec.BlockSize == p.BlockSize && rec.Method == p.RecordMethod()
	return rec.Digest, ok
}

func equalAllowed(p Params) bool {
	return p.Caps.Has(wire.CapRecordDigest) && !p.NoCache && !p.DryRun && !p.WholeFile && !p.Partial()
}

// recordDigest is c's record digest, when it has one.
func (c *fileCache) recordDigest() ([wire.DigestSize]byte, bool) {
	if c == nil || c.digest == nil || c.status != cache.Hit {
		return [wire.DigestSize]byte{}, false
	}
	return *c.digest, true
}

// equalStripes counts a receiver's stripes by how they ended: by the
// sender's record (no block hashed) or by hashes.
type equalStripes struct {
	byRecord, byHash atomic.Int64
}

// endByRecord reports whether a stripe the sender ended with no batch and
// every block confirmed is accepted as equal by records (finish checks the
// rest); other stripes with blocks are counted as hashed.
func (r *receiver) endByRecord(ss *stripeState, m *wire.StripeEnd, next int64) bool {
	blocks := ss.end - ss.first
	if blocks == 0 {
		return false
	}
	if _, ok := r.cache.recordDigest(); ok && equalAllowed(r.p) && next == ss.first &&
		m.Sent == 0 && int64(m.Confirmed) == blocks {
		r.equal.byRecord.Add(1)
		return true
	}
	r.equal.byHash.Add(1)
	return false
}

// equalDigest is the digest a receiver answers Final with: its record's
// when the sender ended the stripes by records (every one, and Final's
// digest its record's, or the session fails), else the session digest.
func (r *receiver) equalDigest(final *wire.Final) ([wire.DigestSize]byte, error) {
	if r.equal.byRecord.Load() == 0 {
		return r.dig.bytes(), nil
	}
	d, ok := r.cache.recordDigest()
	if !ok || r.equal.byHash.Load() != 0 || final.Digest != d || r.cache.changed() {
		return d, fmt.Errorf("%w: the sender ended stripes as equal by records, but the records differ", ErrVerify)
	}
	return d, nil
}
