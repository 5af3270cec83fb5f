package engine

import "testing"

// TestSearchShare: files synced one after another, each replaced by new
// data (a tree's rewritten small files), are each searched whole when
// each sync has its own streak, and only up to about rollStreak bytes in
// all (plus probes) when they share one (Options.Search); every file is
// still exact (rollSync compares it).
func TestSearchShare(t *testing.T) {
	const files, size = 24, mib
	p := rollParams()
	p.Workers = 1
	work := func(share *SearchShare) int64 {
		var sum int64
		for i := range files {
			opt := Options{Search: share}
			sst, _ := rollSync(t, randBytes(uint64(100+i), size), randBytes(uint64(200+i), size), p, opt, rollCaps)
			sum += sst.searchWork
		}
		return sum
	}
	alone, shared := work(nil), work(new(SearchShare))
	t.Logf("search work over %d replaced files of %d bytes: %d alone, %d shared", files, size, alone, shared)
	if alone < files*size {
		t.Fatalf("each file alone searched %d bytes in all, want at least %d (every file whole)", alone, files*size)
	}
	// The work per searched byte is the files' alone (rolled, then
	// checked); shared, they may search rollStreak bytes and a few probes.
	if most := int64(float64(alone) / (files * size) * (rollStreak + 4*size)); shared > most {
		t.Errorf("with one streak the search did %d bytes of work, want at most %d (rollStreak and a few probes)", shared, most)
	}
}
