package engine

import (
	"crypto/sha256"
	"encoding/binary"
	"math/bits"
	"sync"

	"github.com/pdiffagent/pdiffagent/wire"
)

// digest is the end-to-end check of a session: the sum, modulo 2^256, of
// sha256(block index, kind, hash) over the blocks of the range. A block the
// receiver offered contributes its strong hash (which the sender checked
// against its own); a block that was sent contributes the xxhash of its
// data, computed by the sender before sending and by the receiver on what
// it writes (a weak collision's block contributes both). A refined block
// (refine.go) contributes per sub-block instead: the strong hash of each
// the sender confirmed (which the receiver adds for each it offered and
// did not receive), the xxhash of each sent. The sum does not
// depend on order, so each side adds blocks as its workers meet them and
// holds nothing per block; both sides must arrive at the same value.
//
// Sent blocks are covered by their xxhash, not sha256: TLS or QUIC already
// authenticate every byte in transit, so this check is about the two sides'
// bookkeeping (every block accounted for, at the right index, with the data
// that was read), and a strong hash of all changed data would cost a full
// sha256 pass on each side at 100% changed.
type digest struct {
	v [4]uint64 // big-endian limbs: v[0] is the most significant
}

const (
	digestOffered    byte = 's'
	digestSent       byte = 'w'
	digestSubOffered byte = 'S' // a sub-block of a refined block, confirmed
	digestSubSent    byte = 'W' // a sub-block of a refined block, sent
)

// addSubOffered adds the sub-block at off of refined block i, confirmed by
// strong. The receiver adds every sub-block it offered and did not
// receive, so a sub-block the sender neither sent nor confirmed breaks the
// digest.
func (d *digest) addSubOffered(i int64, off int, strong [wire.StrongSize]byte) {
	var in [4 + wire.StrongSize]byte
	binary.BigEndian.PutUint32(in[:], uint32(off))
	copy(in[4:], strong[:])
	d.add(i, digestSubOffered, in[:])
}

// addSubSent adds the sub-block at off of refined block i, sent with the
// given tier-1 hash of its data.
func (d *digest) addSubSent(i int64, off int, weak uint64) {
	var in [4 + 8]byte
	binary.BigEndian.PutUint32(in[:], uint32(off))
	binary.BigEndian.PutUint64(in[4:], weak)
	d.add(i, digestSubSent, in[:])
}

func (d *digest) addOffered(i int64, strong [wire.StrongSize]byte) {
	d.add(i, digestOffered, strong[:])
}

func (d *digest) addSent(i int64, weak uint64) {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], weak)
	d.add(i, digestSent, b[:])
}

func (d *digest) add(i int64, kind byte, h []byte) {
	var in [8 + 1 + 4 + wire.StrongSize]byte
	binary.BigEndian.PutUint64(in[:], uint64(i))
	in[8] = kind
	n := copy(in[9:], h)
	sum := sha256.Sum256(in[:9+n])
	var o digest
	for k := range o.v {
		o.v[k] = binary.BigEndian.Uint64(sum[8*k:])
	}
	d.merge(&o)
}

func (d *digest) merge(o *digest) {
	var carry uint64
	for k := len(d.v) - 1; k >= 0; k-- {
		d.v[k], carry = bits.Add64(d.v[k], o.v[k], carry)
	}
}

func (d *digest) bytes() (out [wire.DigestSize]byte) {
	for k, x := range d.v {
		binary.BigEndian.PutUint64(out[8*k:], x)
	}
	return out
}

// sharedDigest gathers the workers' digests.
type sharedDigest struct {
	mu sync.Mutex
	d  digest
}

func (s *sharedDigest) merge(o *digest) {
	s.mu.Lock()
	s.d.merge(o)
	s.mu.Unlock()
}

func (s *sharedDigest) bytes() [wire.DigestSize]byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.d.bytes()
}
