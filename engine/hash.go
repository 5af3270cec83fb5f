package engine

import (
	"crypto/sha256"
	"crypto/sha512"
	"fmt"
	"strings"

	"github.com/cespare/xxhash/v2"
	"github.com/pdiffagent/pdiffagent/engine/blake3mb"
	"github.com/pdiffagent/pdiffagent/engine/cache"
	"github.com/pdiffagent/pdiffagent/engine/sha256mb"
	"github.com/pdiffagent/pdiffagent/wire"
	"github.com/zeebo/blake3"
	"github.com/zeebo/xxh3"
)

// WeakFunc is a tier-1 hash. A difference is certain; equality is only a
// hint that tier 2 must confirm. Tests inject one that collides on purpose.
type WeakFunc func([]byte) uint64

// DefaultWeak is xxhash64, the tier-1 hash of a session without
// wire.CapXXH3 (an older peer, pipe mode).
func DefaultWeak(b []byte) uint64 { return xxhash.Sum64(b) }

// WeakXXH3 is XXH3-64, the tier-1 hash of a session whose peers both have
// wire.CapXXH3 (and of a local sync): the same 8 bytes, and 4-5 times
// faster than xxhash64 here (75-80 against 15-18 GB/s per core on 1 MiB,
// 57 against 16-17 on 4 KiB sub-blocks; AVX-512, 2026-12-02).
func WeakXXH3(b []byte) uint64 { return xxh3.Hash(b) }

// weakOf is the tier-1 hash of a session with caps.
func weakOf(caps wire.Caps) WeakFunc {
	if caps.Has(wire.CapXXH3) {
		return WeakXXH3
	}
	return DefaultWeak
}

// RecordMethod is the block-hash cache's method for the session's hashes
// (cache.MethodXXH3 marks an XXH3 tier 1), so that a record is used only
// by sessions that hash as it was made. A zero Strong is SHA256, as
// Normalize makes it.
func (s Session) RecordMethod() uint8 {
	m := uint8(s.Strong)
	if s.Strong == 0 {
		m = uint8(SHA256)
	}
	if s.Caps.Has(wire.CapXXH3) {
		m |= cache.MethodXXH3
	}
	return m
}

// StrongHash names a tier-2 hash. Every one yields wire.StrongSize bytes.
type StrongHash uint8

// Tier-2 hashes.
const (
	SHA256     StrongHash = 1
	SHA512_256 StrongHash = 2
	// BLAKE3 is several times faster than sha256 per core where the CPU
	// has no SHA extensions, and 2.3 times with them where it has
	// AVX-512 (engine/blake3mb; README, "Strong hashes").
	BLAKE3 StrongHash = 3
)

var strongNames = map[StrongHash]string{SHA256: "sha256", SHA512_256: "sha512_256", BLAKE3: "blake3"}

func (h StrongHash) String() string {
	if n, ok := strongNames[h]; ok {
		return n
	}
	return fmt.Sprintf("hash(%d)", uint8(h))
}

// ParseStrongHash reads a -m/--hash value.
func ParseStrongHash(s string) (StrongHash, error) {
	t := strings.ReplaceAll(strings.ToLower(s), "-", "_")
	t = strings.ReplaceAll(t, "/", "_")
	for h, n := range strongNames {
		if n == t {
			return h, nil
		}
	}
	return 0, fmt.Errorf("hash %q: want sha256, blake3 or sha512_256", s)
}

// oneShot is the tier-2 hash h as a function of the bytes alone.
func (h StrongHash) oneShot() (func([]byte) [wire.StrongSize]byte, error) {
	switch h {
	case SHA256:
		return sha256.Sum256, nil
	case SHA512_256:
		return sha512.Sum512_256, nil
	case BLAKE3:
		return blake3.Sum256, nil
	}
	return nil, fmt.Errorf("engine: unknown strong hash %d", h)
}

// strongHasher computes tier-2 hashes. It calls the hash's one-shot
// function, whose state lives on the stack: Reset, Write and Sum through
// hash.Hash allocated the sum on the heap at every call (the slice passed
// to Sum escapes), 256 allocations per refined 1 MiB block in 4 KiB
// sub-blocks; at 1000 pages in 1 GiB that garbage was most of each side's
// page faults (doc_cpu.go, "Where the page workload spends its CPU").
//
// sums hashes several messages at once: for sha256 with sha256mb, whose
// four interleaved lanes hash at about twice one message's speed where
// the CPU has the SHA extensions (engine/sha256mb; doc_cpu.go). Callers
// gather a batch's blocks, or a block's sub-blocks, to hash them together.
//
// Each goroutine that hashes has its own, so it also carries that
// goroutine's scratch for gathering what to hash together.
type strongHasher struct {
	f     func([]byte) [wire.StrongSize]byte
	lanes bool             // sums through sha256mb
	b3    *blake3mb.Hasher // BLAKE3 in sixteen lanes (AVX-512): sum and sums

	parts [][]byte                // scratch: the messages of one sums
	idx   []int                   // scratch: where each came from
	out   [][wire.StrongSize]byte // scratch: their sums
	jobs  subJobs                 // scratch: the receiver's deferred sub-blocks (hashBatch)
}

// subJobs are refined blocks' sub-blocks whose tier-2 hashes wait to be
// computed together with the offered blocks of their batch (hashBatch's
// settle): each sums into its *dst.
type subJobs struct {
	parts [][]byte
	dsts  []*[wire.StrongSize]byte
}

func (j *subJobs) reset() {
	clear(j.parts)
	j.parts, j.dsts = j.parts[:0], j.dsts[:0]
}

// gather resets the scratch for a new set of messages and returns it.
func (s *strongHasher) gather() ([][]byte, []int) {
	clear(s.parts) // drop references to the last set's buffers
	return s.parts[:0], s.idx[:0]
}

// sumGathered hashes parts (from gather, grown by the caller) and keeps
// the grown scratch for the next time. The sums are valid until the next
// gather.
func (s *strongHasher) sumGathered(parts [][]byte, idx []int) [][wire.StrongSize]byte {
	s.parts, s.idx = parts, idx
	if cap(s.out) < len(parts) {
		s.out = make([][wire.StrongSize]byte, len(parts))
	}
	out := s.out[:len(parts)]
	s.sums(out, parts)
	return out
}

func newStrongHasher(id StrongHash) (*strongHasher, error) {
	f, err := id.oneShot()
	if err != nil {
		return nil, err
	}
	s := &strongHasher{f: f, lanes: id == SHA256 && sha256mb.Fast()}
	if id == BLAKE3 && blake3mb.Fast() {
		s.b3 = new(blake3mb.Hasher)
		s.f = s.b3.Sum256
	}
	return s, nil
}

func (s *strongHasher) sum(b []byte) [wire.StrongSize]byte { return s.f(b) }

// sums sets out[i] to the tier-2 hash of bufs[i]; out is as long as bufs.
func (s *strongHasher) sums(out [][wire.StrongSize]byte, bufs [][]byte) {
	if s.lanes {
		sha256mb.Sum256(out, bufs)
		return
	}
	if s.b3 != nil {
		s.b3.SumMany(out, bufs)
		return
	}
	for i, b := range bufs {
		out[i] = s.f(b)
	}
}

// laneBlocks are pooled block buffers whose tier-2 hashes wait to be
// computed together (strongHasher.sums) once hashLanes of them are held,
// then are handed back one by one in the order they came.
type laneBlocks struct {
	idx  []int
	bufs [][]byte
}

// add holds buf (block k of its batch) and reports whether the group is
// full.
func (q *laneBlocks) add(k int, buf []byte, blockSize int) bool {
	q.idx, q.bufs = append(q.idx, k), append(q.bufs, buf)
	return len(q.bufs) >= hashLanes(blockSize)
}

// settle hashes what is held and calls f for each, in order; f owns buf.
func (q *laneBlocks) settle(strong *strongHasher, f func(k int, buf []byte, sum [wire.StrongSize]byte)) {
	if len(q.bufs) == 0 {
		return
	}
	var sums [sha256mb.Lanes][wire.StrongSize]byte
	out := sums[:len(q.bufs)]
	strong.sums(out, q.bufs)
	for x, k := range q.idx {
		f(k, q.bufs[x], out[x])
	}
	q.drop(-1)
}

// drop forgets what is held, returning the buffers to the pool unless
// blockSize is -1 (settle handed them on).
func (q *laneBlocks) drop(blockSize int) {
	if blockSize >= 0 {
		for _, b := range q.bufs {
			putBuf(blockSize, b)
		}
	}
	clear(q.bufs)
	q.idx, q.bufs = q.idx[:0], q.bufs[:0]
}
