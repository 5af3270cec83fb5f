package engine

// Unread needs (doc.go, "Reads"). When a stripe's target blocks keep
// differing, reading them only to learn that they differ again is wasted:
// a fully replaced file would cost the receiver a read and a tier-1 hash
// of its whole old copy for nothing. So after skipStreak needed blocks in
// a row that the hasher read (tier-1 different), while refinement is
// backed off (it needs the old bytes of the blocks it refines) and the
// rolling search is inactive (it needs their sums), the hasher calls the
// stripe's next blocks needed without reading them, reading one probe
// after a gap that doubles from 2 to skipGapMax blocks. A probe that
// matches (or a refinement or search that becomes worth it again) ends
// the skipping; the blocks skipped count toward refinement's next probe
// (refineProbe needed blocks), which is one of skipping's. A block called needed unread is sent whole,
// which is always safe: the cost of a wrong guess is at most one gap of
// blocks sent that were equal. A dry run never skips (it counts exactly).
const (
	skipStreak = 32
	skipGapMax = 16
)

// skipState is a stripe's hasher's count of needed blocks in a row and,
// while skipping, the blocks left before its next probe.
type skipState struct {
	run  int // needed blocks in a row, read and different
	gap  int // the gap after the last probe; 0: not skipping
	left int // blocks to call needed unread before the next probe
}

// skip reports whether the hasher calls the block it is at needed without
// reading it (false: read it, skipping's probe or not skipping).
func (r *receiver) skip(ss *stripeState) bool {
	sk := &ss.skip
	if sk.run < skipStreak || r.p.DryRun || !r.skipAllowed(ss) {
		sk.gap, sk.left = 0, 0
		return false
	}
	if sk.gap == 0 { // start skipping
		sk.gap, sk.left = 2, 1
	}
	if sk.left > 0 {
		sk.left--
		return true
	}
	sk.gap = min(2*sk.gap, skipGapMax)
	sk.left = sk.gap - 1
	return false
}

// skipAllowed reports whether neither refinement nor the search wants the
// old bytes of needed blocks now.
func (r *receiver) skipAllowed(ss *stripeState) bool {
	if r.p.refining() && ss.refine.share.streak.Load() < refineStreak {
		return false
	}
	return ss.roll == nil || !ss.roll.active.Load()
}

// differed counts a read block whose tier-1 hash differed; same one that
// matched, which ends any skipping.
func (sk *skipState) differed() { sk.run++ }
func (sk *skipState) same()     { *sk = skipState{} }
