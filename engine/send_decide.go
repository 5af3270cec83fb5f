package engine

import (
	"github.com/pdiffagent/pdiffagent/engine/cache"
	"github.com/pdiffagent/pdiffagent/sysio"
	"github.com/pdiffagent/pdiffagent/wire"
)

// decide takes the verdict for b and sends what differs. It returns how
// many blocks were sent (or would be, in a dry run) and confirmed.
func (s *sender) decide(st *lockedStream, b *pendingBatch, strong *strongHasher, dg *digest, rs *sendRoll) (sent, confirmed int64, err error) {
	defer s.release(b)
	m, err := rs.recv(st)
	if err != nil {
		return 0, 0, err
	}
	v, ok := m.(*wire.Verdict)
	if !ok {
		return 0, 0, protocolErrorf("want Verdict for block %d, got %T", b.first, m)
	}
	if int64(v.First) != b.first || int(v.Count) != len(b.bufs) {
		return 0, 0, protocolErrorf("verdict for blocks %d+%d, want %d+%d", v.First, v.Count, b.first, len(b.bufs))
	}
	var refs []*wire.RefineBlock // per block: the receiver's sub-block sums, if it refined it
	var sub int
	if s.p.refining() {
		if refs, sub, err = s.recvRefine(st, b, v); err != nil {
			return 0, 0, err
		}
	}
	if rs != nil {
		if err := rs.recvSums(st, b); err != nil {
			return 0, 0, err
		}
	}
	pre, err := s.strongs(b, v, strong)
	if err != nil {
		return 0, 0, err
	}
	k := 0 // next strong hash in v.Strong
	rec := s.cache.recording()
	var puts []cache.Entry
	if rec {
		puts = make([]cache.Entry, len(b.bufs))
	}
	for i, buf := range b.bufs {
		blk := b.first + int64(i)
		need := v.Need[i]
		known := b.have != nil && b.have[i]
		var sum [wire.StrongSize]byte
		if !need {
			if k >= len(v.Strong) {
				return sent, confirmed, protocolErrorf("verdict for block %d lacks strong hashes", b.first)
			}
			if known && b.known[i].HasStrong() {
				sum = b.known[i].Strong
			} else if known {
				// Recorded without its tier-2 hash (sent by an earlier
				// session): read it and hash it, as without a cache.
				if buf, err = s.readBlock(blk); err != nil {
					return sent, confirmed, err
				}
				b.bufs[i], known = buf, false
				sum = strong.sum(buf)
			} else if buf == nil {
				_, sum = s.zero.get(s.p.BlockLen(blk))
			} else {
				sum = pre[i]
			}
			dg.addOffered(blk, v.Strong[k])
			if sum == v.Strong[k] {
				confirmed++
			} else {
				need = true
				s.tot.collisions.Add(1)
			}
			k++
		}
		if need && known {
			// Recorded, not read: read it now. A changed source shows in the
			// digest (the receiver hashes what arrives) and in finish.
			if buf, err = s.readBlock(blk); err != nil {
				return sent, confirmed, err
			}
		}
		if rec {
			puts[i] = cache.Entry{Weak: b.weak[i], Strong: sum}
			if need { // sent: its tier-2 hash now, while the block is here (doc.go, "Records")
				puts[i].Strong = s.strongOf(strong, buf, s.p.BlockLen(blk), b.view != nil && !known)
			}
		}
		var ref *wire.RefineBlock
		var ws []uint64 // ref's sub-blocks' tier-1 hashes, ours
		if refs != nil {
			ref = refs[i]
		}
		if need && ref != nil && buf != nil {
			if ws, err = s.subWeaks(buf, sub); err != nil {
				return sent, confirmed, err
			}
		}
		if need && v.Need[i] { // not a weak collision: its data is where it was
			pieced, err := rs.send(st, b, i, buf, ref, ws, strong, dg)
			if pieced && known {
				putBuf(s.p.BlockSize, buf) // read just now, not the batch's
			}
			if err != nil {
				return sent, confirmed, err
			}
			if pieced {
				sent++
				need = false
			}
		}
		if need && ref != nil && buf != nil { // a hole goes whole, as zeros
			whole, err := s.sendSubs(st, blk, buf, ref, ws, sub, strong, dg)
			if !whole && known {
				putBuf(s.p.BlockSize, buf) // read just now, not the batch's
			}
			if err != nil {
				return sent, confirmed, err
			}
			if !whole {
				sent++
				s.tot.refined.Add(1)
				need = false
			}
		}
		if need {
			sent++
			dg.addSent(blk, b.weak[i])
			if b.view != nil && buf != nil {
				// The message takes a pooled copy; the mapping stays ours.
				c := getBuf(s.p.BlockSize, len(buf))
				if err := sysio.Guard(func() { copy(c, buf) }); err != nil {
					putBuf(s.p.BlockSize, c)
					return sent, confirmed, guardErr(err, s.src.File, ErrSourceChanged)
				}
				buf = c
			}
			if err := s.sendBlock(st, blk, buf); err != nil {
				return sent, confirmed, err
			}
			b.bufs[i] = nil // ownership went with the message
		}
		if s.opt.Progress != nil {
			s.opt.Progress.Compared.Add(int64(s.p.BlockLen(blk)))
		}
	}
	if rec {
		s.cache.put(b.first, puts)
	}
	s.tot.changed.Add(sent)
	s.tot.confirmed.Add(confirmed)
	return sent, confirmed, nil
}

// strongs is the tier-2 hash of every block of b that the receiver
// offered and whose bytes are at hand (not a hole, not only recorded),
// hashed together (strongHasher.sums), by the block's index in b.
func (s *sender) strongs(b *pendingBatch, v *wire.Verdict, strong *strongHasher) ([][wire.StrongSize]byte, error) {
	parts, idx := strong.gather()
	for i, buf := range b.bufs {
		if !v.Need[i] && buf != nil && (b.have == nil || !b.have[i]) {
			idx, parts = append(idx, i), append(parts, buf)
		}
	}
	if len(parts) == 0 {
		return nil, nil
	}
	var sums [][wire.StrongSize]byte
	if err := sysio.Guard(func() { sums = strong.sumGathered(parts, idx) }); err != nil {
		return nil, guardErr(err, s.src.File, ErrSourceChanged)
	}
	pre := make([][wire.StrongSize]byte, len(b.bufs))
	for k, i := range idx {
		pre[i] = sums[k]
	}
	return pre, nil
}

// strongOf is the tier-2 hash of a block about to be sent, for the
// source's record: buf, or zeros when buf is nil (a hole). A mapping that
// faults leaves no record (the send fails too).
func (s *sender) strongOf(strong *strongHasher, buf []byte, n int, mapped bool) (sum [wire.StrongSize]byte) {
	if buf == nil {
		_, sum = s.zero.get(n)
		return sum
	}
	if !mapped {
		return strong.sum(buf)
	}
	if sysio.Guard(func() { sum = strong.sum(buf) }) != nil {
		s.cache.writeFailed()
	}
	return sum
}
