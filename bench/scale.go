package bench

import (
	"fmt"
	"io"
	"slices"
)

// scaleKey is one tool at one change, followed across sizes.
type scaleKey struct {
	tool, pattern string
	changed       float64
}

// ScaleTable shows how each tool's time and peak memory grow with the file
// size: one row per tool, change and size; S/GIB is seconds per GiB of
// source, flat when time grows linearly.
func ScaleTable(rep *Report) *Table {
	t := &Table{Header: []string{"TOOL", "PATTERN", "DELTA", "SIZE", "TIME", "S/GIB", "CLIENT RSS", "SERVER RSS"}, Left: 2}
	for _, k := range scaleKeys(rep) {
		for _, r := range rep.Results {
			if (scaleKey{r.Tool, r.Pattern, r.Changed}) == k {
				t.Add(r.Tool, r.Pattern, r.Delta(), FormatBytes(r.Size), secs(r.SyncSeconds),
					fmt.Sprintf("%.3f", r.SyncSeconds/(float64(r.Size)/(1<<30))), rss(r.ClientRSS), rss(r.ServerRSS))
			}
		}
	}
	return t
}

func scaleKeys(rep *Report) []scaleKey {
	var keys []scaleKey
	for _, r := range rep.Results {
		if k := (scaleKey{r.Tool, r.Pattern, r.Changed}); !slices.Contains(keys, k) {
			keys = append(keys, k)
		}
	}
	return keys
}

// WriteGrowth writes, per tool and change, how time and peak RSS grew
// from the smallest size to the largest.
func WriteGrowth(w io.Writer, rep *Report) {
	if len(rep.Sizes) < 2 {
		return
	}
	lo, hi := slices.Min(rep.Sizes), slices.Max(rep.Sizes)
	fmt.Fprintf(w, "growth from %s to %s (size x%.1f):\n", FormatBytes(lo), FormatBytes(hi), float64(hi)/float64(lo))
	for _, k := range scaleKeys(rep) {
		var a, b Result
		for _, r := range rep.Results {
			if (scaleKey{r.Tool, r.Pattern, r.Changed}) == k {
				if r.Size == lo {
					a = r
				}
				if r.Size == hi {
					b = r
				}
			}
		}
		if a.SyncSeconds <= 0 || b.SyncSeconds <= 0 {
			continue
		}
		fmt.Fprintf(w, "  %-5s %s %s: time x%.2f (%s -> %s), peak RSS %s -> %s\n", k.tool, k.pattern, pct(k.changed),
			b.SyncSeconds/a.SyncSeconds, secs(a.SyncSeconds), secs(b.SyncSeconds),
			rss(max(a.ClientRSS, a.ServerRSS)), rss(max(b.ClientRSS, b.ServerRSS)))
	}
}
