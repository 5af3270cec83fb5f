package engine

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"

	"github.com/pdiffagent/pdiffagent/engine/cache"
	"github.com/pdiffagent/pdiffagent/sysio"
	"github.com/pdiffagent/pdiffagent/wire"
)

// Stats is the outcome of one sync, the same on both sides once the
// session has ended.
type Stats struct {
	BytesTotal int64 `json:"bytes_total"` // the source's size
	// BytesRange is what the sync covered: BytesTotal, or less with
	// --start/--end. Rates are computed over it.
	BytesRange   int64 `json:"bytes_range"`
	BytesWritten int64 `json:"bytes_written"` // to the target; 0 in a dry run
	BytesSent    int64 `json:"bytes_sent"`    // block payload bytes that crossed the link
	// BytesWire is everything the session's streams carried, both ways:
	// hashes, verdicts, payloads and frame headers, as encoded on the wire
	// (for a local sync, what would cross a network stream). The handshake
	// before the engine starts (Hello, Open) and TLS/QUIC overhead are not
	// counted. In pipe mode, Retrieve counts the checksum stream it reads
	// and the data stream it writes; Save the data stream it reads.
	BytesWire       int64 `json:"bytes_wire"`
	BlocksTotal     int64 `json:"blocks_total"`     // blocks of the range (of the source without --start/--end)
	BlocksChanged   int64 `json:"blocks_changed"`   // blocks that differed (sent, or would be in a dry run)
	BlocksConfirmed int64 `json:"blocks_confirmed"` // blocks tier-2 confirmed equal
	WeakCollisions  int64 `json:"weak_collisions"`  // blocks whose weak hash matched but whose strong hash did not
	BlocksZero      int64 `json:"blocks_zero"`      // changed blocks that were all zeros: sent without payload, holes where possible
	// BlocksRefined are changed blocks narrowed down to sub-blocks
	// (CapRefine), of which SubBlocksSent sub-blocks were sent (or would
	// be, in a dry run); the rest of each was strong-hash confirmed.
	BlocksRefined int64 `json:"blocks_refined"`
	SubBlocksSent int64 `json:"sub_blocks_sent"`
	// BlocksMoved are changed blocks the receiver assembled in part from
	// its own old bytes found elsewhere in the file (CapRolling), copying
	// BytesReused bytes instead of receiving them.
	BlocksMoved int64   `json:"blocks_moved"`
	BytesReused int64   `json:"bytes_reused"`
	Similarity  float64 `json:"similarity"` // BlocksConfirmed / BlocksTotal (1 for an empty source)
	Seconds     float64 `json:"seconds"`
	// Verified is true only when every block of the result was strong-hash
	// confirmed or freshly written, and the sizes agree.
	Verified bool `json:"verified"`
	// TargetTailKept is how many bytes past the source's end a larger
	// block-device target holds, left untouched.
	TargetTailKept int64 `json:"target_tail_kept,omitempty"`
	DryRun         bool  `json:"dry_run"`
	// SourceRead and TargetRead are what each side read of its own copy
	// (sysio counts it: pread bytes and mapped ranges); SourceCache and
	// TargetCache say how each used its block-hash cache: "hit" (the
	// record's hashes used; only blocks to send read), "resume" (an
	// interrupted sync's journal used for the blocks it logged), "miss",
	// "stale" (a record the file no longer matched) or "off" (no cache,
	// --no-cache, or a file the cache cannot trust). The other side's come
	// from its wire.Report; empty when it sent none.
	SourceRead  int64  `json:"source_bytes_read"`
	TargetRead  int64  `json:"target_bytes_read"`
	SourceCache string `json:"source_cache,omitempty"`
	TargetCache string `json:"target_cache,omitempty"`

	searchWork int64 // the sender's: bytes its search rolled over and tier-1 hashed
}

func (s *Stats) finish(p Params, seconds float64) {
	s.BytesTotal = p.Size
	s.BytesRange = p.End - p.Start
	s.BlocksTotal = p.Blocks()
	s.Seconds = seconds
	s.DryRun = p.DryRun
	s.Similarity = 1
	if s.BlocksTotal > 0 {
		s.Similarity = float64(s.BlocksConfirmed) / float64(s.BlocksTotal)
	}
}

// Progress is updated while a sync runs; another goroutine may read it.
// The two sides of a local sync share one: the sender updates Compared and
// Sent, the receiver Written.
type Progress struct {
	Compared atomic.Int64 // source bytes whose fate is decided
	Written  atomic.Int64 // bytes written to the target
	Sent     atomic.Int64 // payload bytes sent
}

// Options are local to one side of a session.
type Options struct {
	// Weak is the tier-1 hash; nil means the session's (weakOf: XXH3-64
	// or xxhash64, as the capabilities say). Both sides must use the
	// same function: it is a test hook, not a protocol parameter.
	Weak WeakFunc
	// Progress, when non-nil, is updated as the sync runs.
	Progress *Progress
	// Direct is the O_DIRECT policy for files the engine opens itself.
	Direct sysio.DirectMode
	// ReadPath is how the hashing passes read blocks (readpath.go); the
	// zero value, ReadPread, is the default.
	ReadPath ReadPath
	// Cache is the block-hash cache of this side (engine/cache); nil means
	// none: the file is read and hashed whole and no record is kept.
	Cache *cache.Store
	// ReadLimit, when not nil, caps the rate at which this side's hashing
	// passes read its file (--io-limit; throttle.go). Link, when not nil,
	// caps the bytes a local sync's streams carry (--bwlimit; the agent
	// wraps its network streams with ThrottleStream itself).
	ReadLimit, Link *Rate
	// DeferSync leaves the receiver's target unsynced at the end (no
	// fsync before FinalAck): the caller makes it durable itself, as a tree
	// sync does for all its files with one syncfs (engine/tree). With
	// Cache, a receiver then needs Records (without, it keeps no cache):
	// a record must not be visible before the data it trusts is durable.
	DeferSync bool
	// Records, when not nil, takes the records this side makes instead of
	// committing each at the end of its session: the caller commits them
	// once the files are durable (a tree, after its flush). A side that
	// only reads its file may use it too, to commit many records with a
	// few syncs.
	Records *cache.Deferred
	// Search, when not nil, is the rolling search's streak of fruitless
	// searches shared with other syncs (rolling_share.go): a tree's files.
	// Nil gives each stripe its own.
	Search *SearchShare
	// Recv, when not nil, is the receiver's streaks (refinement that sent
	// most of each block, needed blocks that came whole) shared with
	// other syncs (rolling_share.go): a tree's files. Nil gives the
	// session its refinement streak and each stripe its search's.
	Recv *RecvShare
	// CompareLocal lets a local sync (SyncLocal, SyncLocalAtomic) compare
	// the two copies' bytes directly instead of running both sides of
	// the protocol, where nothing needs the hashes: without Cache, Link
	// or WholeFile (compare.go). Tests of the protocol leave it off.
	CompareLocal bool

	// testSubWeak, when not nil, is the tier-1 hash of sub-blocks
	// (refine.go); a test hook, like Weak.
	testSubWeak WeakFunc
	// testRollCollide makes every anchor sum of the search equal (both
	// sides must set it): a candidate at every offset.
	testRollCollide bool
	// testSearchHook, when not nil, is called before each block the
	// sender searches.
	testSearchHook func()
	// testSearchWeak, when not nil, replaces the tier-1 hash of the
	// search on both sides: of the blocks the receiver offers and of the
	// sender's candidates (forcing false matches).
	testSearchWeak WeakFunc
	// testBadCopy, when not nil, makes the sender's CopyFrom into each
	// block it names carry a wrong strong hash: the receiver refuses
	// those blocks.
	testBadCopy func(block int64) bool
	// testRollKept, when not nil, counts the old blocks the receiver
	// keeps for the search (copied as hashed, or read before a write).
	testRollKept *atomic.Int64
	// testRollHeld, when not nil, is raised to the most old blocks a
	// receiver worker's search held copies of at once.
	testRollHeld *atomic.Int64
	// testAsk makes the sender ask about every batch (no Unasked ones),
	// for tests of what the receiver does with asked batches; testUnasked,
	// when not nil, counts the blocks a sender sent unasked.
	testAsk     bool
	testUnasked *atomic.Int64
	// testFlush, when not nil, replaces the receiver's early flushes
	// (flusher.go), made every testFlushEvery bytes when that is set.
	testFlush      func(f *sysio.File) error
	testFlushEvery int64
}

// weak is the tier-1 hash of a sync with caps run under ctx.
func (o Options) weak(ctx context.Context, caps wire.Caps) WeakFunc {
	return o.weakWith(ctx, weakOf(caps))
}

// weakWith is weak with base for the tier-1 hash (Options.Weak, a test's,
// still wins).
func (o Options) weakWith(ctx context.Context, base WeakFunc) WeakFunc {
	w := o.Weak
	if w == nil {
		w = base
	}
	w = throttleWeak(ctx, w, o.ReadLimit)
	if TestHookWeak != nil {
		w = TestHookWeak(ctx, w, o.Progress)
	}
	return w
}

// Engine errors.
var (
	// ErrSourceChanged means the source's size or mtime moved during the sync.
	ErrSourceChanged = errors.New("engine: source changed during the sync")
	// errTargetChanged means the target shrank while the receiver read it.
	errTargetChanged = errors.New("engine: target changed during the sync")
	// ErrProtocol means the peer broke the engine's message order.
	ErrProtocol = errors.New("engine: protocol violation")
	// ErrVerify means the two sides disagree about the result.
	ErrVerify = errors.New("engine: verification failed")
)

// PeerError is an error the other side reported.
type PeerError struct {
	Code    uint16
	Message string
}

func (e *PeerError) Error() string { return "peer: " + e.Message }

// Is makes errors.Is(err, ErrSourceChanged) true for a peer's report of it.
func (e *PeerError) Is(target error) bool {
	return target == ErrSourceChanged && e.Code == wire.CodeChanged
}

func protocolErrorf(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrProtocol}, args...)...)
}
