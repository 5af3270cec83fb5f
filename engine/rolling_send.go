package engine

import (
	"fmt"

	"github.com/pdiffagent/pdiffagent/sysio"
	"github.com/pdiffagent/pdiffagent/wire"
)

// sendRoll is a sender worker's search state for its stripe (doc.go,
// "Rolling search"). Only the worker's decide goroutine uses it.
type sendRoll struct {
	s       *sender
	weak    WeakFunc // checks candidates: the tier-1 hash, or Options.testSearchWeak
	idx     *rollIndex
	per     int64 // blocks per batch
	carry   piece // the rest of the last copy, for block carryAt
	carryAt int64
	share   *SearchShare   // the fruitless-search streak: Options.Search, or the session's own
	off     bool           // a refusal turned the search off for the stripe
	refused map[int64]bool // blocks the receiver refused, sent again as Data
	// win holds room bytes for tail, then span: a search that starts in
	// the tail reads tail and span contiguous without a second buffer
	// (it was one of up to two blocks: 2 MiB of fresh memory per worker,
	// which this VM's first touch makes dear). room is the longest tail
	// the file can have: rollTailMax, or a smaller file's size.
	win    []byte
	room   int
	span   []byte // a block and the next one, contiguous: win[room:]
	tail   []byte // the end of the last searched block that went as a literal, for block tailAt
	tailAt int64
	pace   *readPace // the stripe's reader's, which lookAhead keeps ahead
	// ahead is how many batches lookAhead takes the answers to first: as
	// many as the last copies' sources lay ahead of them, at least one
	// (aheadOf), and all of rollAheadBatches before the stripe's first
	// search and after one that found nothing. Each stripe's first
	// searched batch looked one batch ahead until 2026-12-03: after a
	// deletion of more than a batch all of them found nothing, and with
	// 4 workers or more those alone made the search quiet (8 MiB deleted
	// 1 MiB into 1 GiB, 8 workers: the whole file sent; now 28 MB).
	ahead int
	// began, found and own make the stripe hot (hot): it searched, it
	// found a copy, and the bytes of its fruitless searches in a row
	// since.
	began, found bool
	own          int64
	prevRef      subRef // the last needed block's refinement (recoverSubs)
	// lastShift is the shift of the last copy (shiftOf) and lastShiftAt
	// the block after it: a literal that begins that block may continue it.
	lastShift   int
	lastShiftAt int64
	pieced      int64 // blocks sent in pieces
	copied      int64 // bytes of those sent as copies
}

// newSendRoll returns the search state of a stripe, or nil when the
// session does not search.
func (s *sender) newSendRoll() *sendRoll {
	if !s.p.rolling() {
		return nil
	}
	ro := newRoller(rollWindow(s.p.BlockSize))
	ro.collide = s.opt.testRollCollide
	weak := s.weak
	if s.opt.testSearchWeak != nil {
		weak = s.opt.testSearchWeak
	}
	return &sendRoll{s: s, weak: weak, idx: newRollIndex(ro, s.p.BlockSize, s.p.Blocks()), per: int64(batchBlocks(s.p.BlockSize)), carryAt: -1, ahead: rollAheadBatches,
		room: int(min(rollTailMax, int64(s.p.BlockSize), s.p.Size)), share: s.search, refused: map[int64]bool{}}
}

// recv is recvMsg that also answers every Refused it meets by sending that
// block again, whole. rs may be nil.
func (rs *sendRoll) recv(st *lockedStream) (wire.Message, error) {
	for {
		m, err := recvMsg(st)
		if err != nil || rs == nil {
			return m, err
		}
		ref, ok := m.(*wire.Refused)
		if !ok {
			return m, nil
		}
		if err := rs.resend(st, int64(ref.Block)); err != nil {
			return nil, err
		}
	}
}

// resend sends block blk, whose pieces the receiver refused, as Data, and
// stops the stripe's search: a refusal is a tier-1 collision, accidental
// or crafted, and more search would only find more of them.
func (rs *sendRoll) resend(st *lockedStream, blk int64) error {
	if rs.refused[blk] {
		return protocolErrorf("block %d refused twice", blk)
	}
	rs.refused[blk], rs.off = true, true
	buf, err := rs.s.readBlock(blk)
	if err != nil {
		return err
	}
	return rs.s.sendBlock(st, blk, buf)
}

// recvSums takes the RollSums that follows batch b's Verdict (and Refine).
func (rs *sendRoll) recvSums(st *lockedStream, b *pendingBatch) error {
	m, err := rs.recv(st)
	if err != nil {
		return err
	}
	sums, ok := m.(*wire.RollSums)
	if !ok {
		return protocolErrorf("want RollSums for block %d, got %T", b.first, m)
	}
	if int64(sums.First) != b.first || int(sums.Count) != len(b.bufs) {
		return protocolErrorf("RollSums for blocks %d+%d, want %d+%d", sums.First, sums.Count, b.first, len(b.bufs))
	}
	k := 0
	for i, o := range sums.Offer {
		if o {
			blk := b.first + int64(i)
			if int(sums.N[k]) > rs.s.p.BlockSize {
				return protocolErrorf("RollSums offers block %d of %d bytes, more than a block", blk, sums.N[k])
			}
			rs.idx.add(blk, sums.Anchor[k], sums.Weak[k], int(sums.N[k]))
			k++
		}
	}
	return nil
}

// send describes needed block i of b (its bytes buf) in pieces if a copy
// was carried into it or a search finds one, and reports whether it did;
// if not, the caller sends the block as before. ref is the receiver's
// refinement of the block, if any, and ws the tier-1 hashes of the
// block's sub-blocks: when most of them match in place, refinement serves
// it better and it is not searched. subs is the receiver's sub-block sums
// of its old block there, refined or by tier-1 hashes alone
// (wire.RefineBlock.WeakOnly), in sub-blocks of sub bytes, and next the
// next old block's, if at hand: recoverSubs looks for them in what the
// search leaves.
func (rs *sendRoll) send(st *lockedStream, b *pendingBatch, i int, buf []byte, ref *wire.RefineBlock, ws []uint64, subs, next *wire.RefineBlock, sub int, strong *strongHasher, dg *digest) (bool, error) {
	if rs == nil || buf == nil {
		return false, nil
	}
	s := rs.s
	blk := b.first + int64(i)
	n := len(buf)
	refs := rs.subRefs(blk, subs, next, sub)
	carry := rs.carry
	if rs.carryAt != blk {
		carry = piece{}
	}
	rs.carry, rs.carryAt = piece{}, -1
	search := rs.want(buf, ref, ws)
	// A block refinement serves whose sub-blocks differ from some point
	// to its end: an insertion or deletion there, whose shifted rest
	// recoverSubs finds (refinement would send all of it).
	edit := !search && carry.n == 0 && !rs.off && refineServes(ref, ws) && editedTail(ref, ws) >= editTailSubs
	if carry.n == 0 && !search && !edit {
		return false, nil
	}
	if err := s.sess.ctx.Err(); err != nil { // a search is work: stop it promptly
		return false, err
	}
	rs.idx.evictBefore(blk - rollBackBatches*rs.per)
	if carry.n == 0 && rs.idx.empty() {
		// No old block within reach to find: a search that finds nothing,
		// without its work. With every block replaced the receiver reads
		// (and offers) only its probes, so most of the sender's probes
		// found an empty index after rolling over a whole block.
		if search {
			rs.searched(n, false)
		}
		return false, nil
	}
	if err := rs.fill(b, i, buf); err != nil {
		return false, err
	}
	res := searchResult{pieces: []piece{{off: 0, n: n, src: -1}}}
	if search || carry.n > 0 {
		if s.opt.testSearchHook != nil {
			s.opt.testSearchHook()
		}
		if t := len(rs.tail); carry.n == 0 && rs.tailAt == blk && t > 0 {
			// The previous block ended in a literal: an old block whose
			// anchor lies there (data deleted before it, so it starts in
			// the previous block) still serves the rest of this one.
			ext := rs.win[rs.room-t : rs.room+len(rs.span)]
			copy(ext, rs.tail)
			res = clipTail(rs.idx.search(ext, t+n, 0, rs.weak), t)
		} else {
			res = rs.idx.search(rs.span, n, carry.n, rs.weak)
		}
	}
	if carry.n > 0 {
		res.pieces = append([]piece{carry}, res.pieces...)
		res.copied += carry.n
	}
	if search || carry.n > 0 || edit {
		rs.recoverSubs(blk, n, &res, refs)
		if ref != nil && carry.n == 0 && inPlace(blk, rs.s.p.BlockSize, res.pieces) {
			// refinement serves what lies in place (its SubData
			// compressed when that pays)
			res = searchResult{pieces: []piece{{off: 0, n: n, src: -1}}, work: res.work}
		}
		s.tot.searchWork.Add(res.work)
		rs.keepTail(blk, n, res.pieces)
	}
	if search {
		rs.searched(n, res.copied > carry.n)
		rs.ahead = rs.aheadOf(blk, res)
	}
	if res.copied == 0 {
		return false, nil
	}
	if res.carry.n > 0 {
		rs.carry, rs.carryAt = res.carry, blk+1
	}
	for _, pc := range res.pieces {
		if pc.src >= 0 {
			rs.lastShift, rs.lastShiftAt = rs.shiftOf(blk, pc), blk+1
		}
	}
	if st.ob == nil {
		st.hold() // the rest of the batch waits for its copies' hashes (outbox.go)
	}
	for _, pc := range res.pieces {
		part := rs.span[pc.off : pc.off+pc.n]
		var m wire.Message
		if pc.src >= 0 {
			cf := &wire.CopyFrom{Block: uint64(blk), Offset: uint32(pc.off), N: uint32(pc.n), Src: uint64(pc.src)}
			if ob := st.ob; ob != nil && pc.off+pc.n <= len(buf) {
				ob.copyFrom(cf, buf[pc.off:pc.off+pc.n]) // the same bytes, which the batch holds; hashed at the flush
				continue
			}
			cf.Strong = strong.sum(part)
			m = cf
		} else {
			m = &wire.Literal{Block: uint64(blk), Offset: uint32(pc.off), Bytes: append([]byte(nil), part...)}
			s.tot.sentBytes.Add(int64(pc.n))
			if s.opt.Progress != nil {
				s.opt.Progress.Sent.Add(int64(pc.n))
			}
		}
		if err := st.Send(m); err != nil {
			return false, wrapStream(err)
		}
	}
	dg.addSent(blk, b.weak[i])
	rs.pieced++
	rs.copied += int64(res.copied)
	return true, nil
}

// want decides whether a needed block is searched: not when the search is
// off, not a block of zeros, not one that refinement serves, and, after
// rollStreak bytes of fruitless searches in a row (the session's stripes',
// or the tree's: SearchShare), a probe whenever the needed blocks skipped reach
// the gap (which doubles with each fruitless probe, up to rollProbeMax).
func (rs *sendRoll) want(buf []byte, ref *wire.RefineBlock, ws []uint64) bool {
	if rs.off {
		rs.share.skip(len(buf))
		return false
	}
	if refineServes(ref, ws) {
		rs.share.skip(len(buf))
		return false
	}
	return rs.share.want(buf, rs.hot())
}

// refineServes reports whether refinement serves a needed block better
// than the search: ref, the receiver's sums of its sub-blocks, matches ws,
// ours, in at least half of them.
func refineServes(ref *wire.RefineBlock, ws []uint64) bool {
	if ref == nil {
		return false
	}
	match := 0
	for j := range ref.Weak {
		if ws[j] == ref.Weak[j] {
			match++
		}
	}
	return 2*match >= len(ref.Weak)
}

// fill puts block i of b (buf, possibly mapped) into span, followed by
// the next block of the stripe when it is in memory (in b, or the first
// of the next batch, which the reader sets up without waiting for this
// one): the search reads nothing the fixed-offset pass did not.
func (rs *sendRoll) fill(b *pendingBatch, i int, buf []byte) error {
	s := rs.s
	nb, j := b, i+1
	if j == len(b.bufs) {
		select {
		case <-b.ready:
		case <-s.sess.ctx.Done():
			return s.sess.ctx.Err()
		}
		nb, j = b.next, 0
	}
	var next []byte
	nn := 0 // bytes of the next block in span
	// An unasked batch holds nothing in memory (unasked.go).
	if nb != nil && nb.unasked == nil && (nb.have == nil || !nb.have[j]) {
		next, nn = nb.bufs[j], s.p.BlockLen(nb.first+int64(j)) // nil: a hole
	}
	if need := rs.room + len(buf) + nn; len(rs.win) < need {
		// sized to what the file needs, at most two blocks and the tail's
		// room: a small file of a tree does not clear two blocks' worth
		// of zeroes per file. The largest comes from the block buffers'
		// pool (sysio's slabs of huge pages) and goes back to it when
		// the stripe ends (release), so that a tree's files reuse it: a
		// carved buffer dropped keeps its slab alive.
		rs.release()
		if full := rs.winMax(); need == full {
			rs.win = getBuf(full, full)
		} else {
			rs.win = make([]byte, need)
		}
	}
	span := rs.win[rs.room : rs.room+len(buf)+nn]
	err := sysio.Guard(func() {
		copy(span, buf)
		if next != nil {
			copy(span[len(buf):], next)
		} else {
			clear(span[len(buf):])
		}
	})
	if err != nil {
		return guardErr(err, s.src.File, ErrSourceChanged)
	}
	rs.span = span
	return nil
}

// winMax is the largest win: the tail's room and two blocks.
func (rs *sendRoll) winMax() int { return rs.room + 2*rs.s.p.BlockSize }

// release gives win back to the pool if it came from there.
func (rs *sendRoll) release() {
	if rs == nil || rs.win == nil {
		return
	}
	if full := rs.winMax(); len(rs.win) == full {
		putBuf(full, rs.win)
	}
	rs.win, rs.span = nil, nil
}

// finish ends the stripe's pieces: it sends RollEnd, answers the
// receiver's last refusals and takes its RollEnd, which says what it took.
func (rs *sendRoll) finish(st *lockedStream) error {
	if rs == nil {
		return nil
	}
	if err := st.Send(&wire.RollEnd{Blocks: uint64(rs.pieced), Bytes: uint64(rs.copied)}); err != nil {
		return wrapStream(err)
	}
	m, err := rs.recv(st)
	if err != nil {
		return err
	}
	end, ok := m.(*wire.RollEnd)
	if !ok {
		return protocolErrorf("want RollEnd, got %T", m)
	}
	if int64(end.Blocks)+int64(len(rs.refused)) != rs.pieced {
		return fmt.Errorf("%w: receiver took %d of %d blocks sent in pieces, and refused %d", ErrVerify, end.Blocks, rs.pieced, len(rs.refused))
	}
	rs.s.tot.moved.Add(int64(end.Blocks))
	rs.s.tot.reused.Add(int64(end.Bytes))
	return nil
}

// rollTailMax bounds the literal end of a block kept for the next block's
// search: deletions up to this size before a block are found whole.
const rollTailMax = 64 << 10

// keepTail keeps the literal end of block blk (span[:n], in pieces) for
// the search of block blk+1, or forgets the last one.
func (rs *sendRoll) keepTail(blk int64, n int, pieces []piece) {
	rs.tail, rs.tailAt = rs.tail[:0], -1
	if len(pieces) == 0 {
		return
	}
	last := pieces[len(pieces)-1]
	if last.src >= 0 || last.off+last.n != n {
		return
	}
	from := max(last.off, n-rollTailMax)
	rs.tail, rs.tailAt = append(rs.tail, rs.span[from:n]...), blk+1
}

// clipTail turns a search of a previous block's tail (t bytes) followed
// by this block into this block's result: pieces within the tail are
// dropped (that block is sent), a copy that starts there keeps its part
// in this block, from further into its source.
func clipTail(r searchResult, t int) searchResult {
	out := searchResult{carry: r.carry, work: r.work}
	for _, pc := range r.pieces {
		end := pc.off + pc.n
		if end <= t {
			continue
		}
		if pc.off < t {
			if pc.src >= 0 {
				pc.src += int64(t - pc.off)
			}
			pc.n, pc.off = end-t, t
		}
		pc.off -= t
		if pc.src >= 0 {
			out.copied += pc.n
		}
		out.pieces = append(out.pieces, pc)
	}
	return out
}

// aheadOf is how many batches lookAhead should cover after the search of
// block blk found res: as many as its copies' sources lay ahead (a
// deletion: a batch covers one of up to batchBytes, the sources of the
// batch's last block lying that much beyond it), at least one; and all
// of rollAheadBatches after a search that found nothing, since a deletion
// longer than a batch shows so.
func (rs *sendRoll) aheadOf(blk int64, res searchResult) int {
	if res.copied == 0 {
		return rollAheadBatches
	}
	bs := int64(rs.s.p.BlockSize)
	var far int64
	for _, pc := range res.pieces {
		if pc.src >= 0 {
			far = max(far, pc.src-(blk*bs+int64(pc.off)))
		}
	}
	return int(min(1+far/(rs.per*bs), rollAheadBatches))
}
