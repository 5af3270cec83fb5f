package bench

import (
	"strings"
	"testing"
)

// withCached adds cached pushes to sampleReport's rounds: at 10% in 0.4 s
// (its server read 100 MiB on a hit), at 100% in 1.2 s.
func withCached() *Report {
	rep := sampleReport()
	for _, c := range []struct {
		changed, secs float64
		read          int64
	}{{0.1, 0.4, 100 << 20}, {1, 1.2, 1 << 30}} {
		r := rep.Results[0]
		r.Tool, r.Changed, r.SyncSeconds = Cached, c.changed, c.secs
		r.Stats.TargetRead, r.Stats.TargetCache, r.Stats.SourceCache = c.read, "hit", "stale"
		rep.Results = append(rep.Results, r)
	}
	return rep
}

// TestSummaryTableCached: the cached column follows tcp's, with its time
// over tcp's and what its server read.
func TestSummaryTableCached(t *testing.T) {
	tab := SummaryTable(withCached())
	want := []string{"SIZE", "PATTERN", "DELTA", "DATA", "TCP", "CACHED", "QUIC", "RSYNC", "RSYNC/TCP", "CACHED/TCP", "CACHED READ",
		"SHA256 FLOOR", "READ FLOOR", "WRITE FLOOR", "TLS X2", "CACHE"}
	if strings.Join(tab.Header, ",") != strings.Join(want, ",") {
		t.Fatalf("header %q", tab.Header)
	}
	rows := []string{
		"1.0 GiB|random|10.0%|102.0 MiB|1.00s|0.40s|skipped|5.00s|5.00x|0.40x|100.0 MiB hit|0.50s|0.10s|-|0.05s|warm",
		"1.0 GiB|random|100.0%|1.0 GiB|1.00s|1.20s|skipped|8.00s|8.00x|1.20x|1.0 GiB hit|0.50s|0.10s|-|0.50s|warm",
	}
	for i, r := range tab.Rows {
		if got := strings.Join(r, "|"); i >= len(rows) || got != rows[i] {
			t.Errorf("row %d %q", i, got)
		}
	}
	// A tcp-less run has no ratio; a cached run whose server did not say
	// what it read shows "-".
	rep := withCached()
	rep.Results = rep.Results[len(rep.Results)-2:]
	rep.Results[0].Stats.TargetCache = ""
	tab = SummaryTable(rep)
	if strings.Contains(strings.Join(tab.Header, ","), "CACHED/TCP") || tab.Rows[0][4] != "0.40s" {
		t.Errorf("without tcp: %q %q", tab.Header, tab.Rows)
	}
	if got := cachedRead(rep.Results[0]); got != "-" {
		t.Errorf("cachedRead without a word: %q", got)
	}
}

// TestCachedTarget: the cached push at 10% is judged against the uncached
// tcp push of the same round, when both ran.
func TestCachedTarget(t *testing.T) {
	find := func(ts []Target) (Target, bool) {
		for _, x := range ts {
			if strings.HasPrefix(x.Name, "cached push") {
				return x, true
			}
		}
		return Target{}, false
	}
	if _, ok := find(Evaluate(sampleReport())); ok {
		t.Errorf("a run without the cached tool judged it")
	}
	x, ok := find(Evaluate(withCached()))
	if !ok || x.Status != Pass || x.Value != 0.4 || !strings.Contains(x.Detail, "100.0 MiB hit") {
		t.Errorf("cached target %+v", x)
	}
	rep := withCached()
	rep.Results[4].SyncSeconds = 0.7
	if x, _ := find(Evaluate(rep)); x.Status != Miss {
		t.Errorf("0.7x judged %+v", x)
	}
	rep.Results = rep.Results[1:] // no tcp at 10%
	if x, _ := find(Evaluate(rep)); x.Status != NA {
		t.Errorf("without tcp at 10%%: %+v", x)
	}
}
