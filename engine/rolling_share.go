package engine

import (
	"sync"
	"sync/atomic"
)

// SearchShare is the rolling search's memory of fruitless searches
// (rolling_index.go, rollStreak), shared by the syncs that name it in
// Options.Search: the files of one tree. Each sync of a small file starts
// its own search state, so a tree of rewritten small files (the tree
// case: 5% of 2,000 files of up to 2 MiB, new random data) had every
// file searched whole, never reaching the streak that stops the search:
// 0.51 of the client's 0.84 CPU-s of a tree push went to that search
// (copying each block into the search's span and rolling over it). Shared,
// the first rollStreak fruitless bytes of the tree stop it, and probes as
// a single file's do (a gap that doubles, up to rollProbeMax) turn it back
// on where moved data is found again. Only a sender uses it. The zero
// value is ready; it is safe for concurrent use by the files' workers.
type SearchShare struct {
	mu sync.Mutex
	searchStreak
	// testStuck keeps the streak quiet and never probes, as if other
	// stripes' or files' fruitless searches came between any two.
	testStuck bool
}

// searchStreak is the state that decides whether a needed block is
// searched (sendRoll.want).
type searchStreak struct {
	streak  int64 // bytes of searched blocks in a row that found nothing
	skipped int64 // bytes of needed blocks not searched since the last probe
	gap     int64 // skipped bytes before the next probe
}

// want reports whether the needed block buf is searched, as far as the
// streak goes (after rollStreak fruitless bytes, a probe whenever the
// skipped bytes reach the gap; a hot stripe searches whatever the streak,
// sendRoll.hot) and unless it is all zeros (never searched), and counts
// it as skipped if not.
func (sh *SearchShare) want(buf []byte, hot bool) bool {
	sh.mu.Lock()
	quiet := !hot && (sh.testStuck || sh.streak >= rollStreak && sh.skipped < sh.gap)
	sh.mu.Unlock()
	search := !quiet && !isZero(buf) // the scan outside the lock
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if search {
		sh.skipped = 0
	} else {
		sh.skipped += int64(len(buf))
	}
	return search
}

// quiet reports whether the search has found nothing for rollStreak
// bytes and only probes now and then.
func (sh *SearchShare) quiet() bool {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	return sh.testStuck || sh.streak >= rollStreak
}

// skip counts a needed block of n bytes not searched for another reason.
func (sh *SearchShare) skip(n int) {
	sh.mu.Lock()
	sh.skipped += int64(n)
	sh.mu.Unlock()
}

// searched records a search of n bytes that found a copy, or not.
func (sh *SearchShare) searched(n int, found bool) {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if found {
		sh.streak, sh.gap = 0, 0
		return
	}
	sh.streak += int64(n)
	sh.gap = min(max(2*sh.gap, rollProbeGap), rollProbeMax)
}

// rollHot is how many bytes of fruitless searches in a row a stripe
// whose search found a copy makes before the shared streak may quiet it
// (sendRoll.hot).
const rollHot = 2 << 20

// hot reports whether the stripe searches whatever the shared streak
// says (SearchShare): before its first search, in a file of rollStreak
// or more (a tree's small files share the streak whole), and after a
// search that found a copy until rollHot bytes of fruitless ones in a
// row. The streak alone made the stripes' timing decide what was found:
// after 8 MiB deleted with 4 workers, the last stripe (wholly past the
// old data the receiver offers, and the first to be decided, having
// fewer batches to look ahead at) or any stripe's tail of data whose
// source lies in the next stripe could quiet the others before or while
// they found their data, and a loaded machine sent 40-47 MB instead of
// 33 (TestRollingDeleteManyStripes, which CI failed on).
func (rs *sendRoll) hot() bool {
	if !rs.began {
		return rs.s.p.Size >= rollStreak
	}
	return rs.found && rs.own < rollHot
}

// quiet reports whether the stripe only probes now and then: the shared
// streak is quiet and the stripe is not hot.
func (rs *sendRoll) quiet() bool {
	return !rs.hot() && rs.share.quiet()
}

// searched records a search of n bytes that found a copy, or not, in the
// stripe and in the shared streak.
func (rs *sendRoll) searched(n int, found bool) {
	rs.share.searched(n, found)
	rs.began = true
	if found {
		rs.found, rs.own = true, 0
	} else {
		rs.own += int64(n)
	}
}

// RecvShare is the receiver's side of SearchShare: the streaks that make
// a receiver stop work that finds nothing, shared by the syncs that name
// it in Options.Recv (the files of a tree, on the side that receives).
// Each sync of a small file starts its own otherwise and never reaches
// them, so every rewritten small file of a tree had its blocks refined
// (sub-block hashes computed and sent, for all of them to come back
// whole) and kept a copy of each of its needed blocks for a search the
// sender had long stopped. The zero value is ready; it is safe for
// concurrent use.
type RecvShare struct {
	refine refineShare
	whole  atomic.Int64 // bytes of needed blocks in a row that came whole (recvRoll)
}

// refineShare is the state that decides whether a needed block is refined
// (refineQueue.want).
type refineShare struct {
	streak atomic.Int64 // refined blocks in a row that sent most of their sub-blocks
	probe  atomic.Int64 // needed blocks not refined since the last probe
}

// recvShare is Options.Recv, or a session's own.
func (o Options) recvShare() *RecvShare {
	if o.Recv != nil {
		return o.Recv
	}
	return new(RecvShare)
}
