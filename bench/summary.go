package bench

import (
	"fmt"
	"io"
	"slices"
	"strings"
)

// toolOrder is the column order of known tools; others follow as they come.
var toolOrder = []string{"local", "tcp", Cached, "quic", "rsync"}

// round is the results of one (size, pattern, changed) round.
type round struct {
	size    int64
	pattern string
	changed float64
	byTool  map[string]Result
	first   Result // carries the round's floors
}

// rounds groups the results by round, in the order they ran.
func (r *Report) rounds() []*round {
	var out []*round
	for _, res := range r.Results {
		i := slices.IndexFunc(out, func(x *round) bool {
			return x.size == res.Size && x.pattern == res.Pattern && x.changed == res.Changed
		})
		if i < 0 {
			out = append(out, &round{size: res.Size, pattern: res.Pattern, changed: res.Changed,
				byTool: map[string]Result{}, first: res})
			i = len(out) - 1
		}
		out[i].byTool[res.Tool] = res
	}
	return out
}

// tools lists every tool that ran or was skipped, in column order.
func (r *Report) tools() []string {
	var names []string
	for _, res := range r.Results {
		names = append(names, res.Tool)
	}
	for name := range r.Skipped {
		names = append(names, name)
	}
	var out []string
	for _, t := range toolOrder {
		if slices.Contains(names, t) {
			out = append(out, t)
		}
	}
	for _, t := range names {
		if !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	return out
}

// SummaryTable is the side-by-side table, one row per round as in
// pdiffcopy's README: the change, the data it makes, each tool's time, the
// rsync/tcp speed-up, the cached push's time over the uncached one's and
// what its server read (Cached), local sync over its floor, then the floors: sha256
// of the matching blocks and a page-cache read of both copies (all cores),
// and each network floor's time for the round's changed bytes.
func SummaryTable(rep *Report) *Table {
	tools := rep.tools()
	t := &Table{Header: []string{"SIZE", "PATTERN", "DELTA", "DATA"}, Left: 2}
	for _, name := range tools {
		t.Header = append(t.Header, strings.ToUpper(name))
	}
	hasRsync := slices.Contains(tools, "rsync") && slices.Contains(tools, "tcp")
	hasLocal := slices.Contains(tools, "local")
	hasCached := slices.Contains(tools, Cached) && slices.Contains(tools, "tcp")
	if hasRsync {
		t.Header = append(t.Header, "RSYNC/TCP")
	}
	if hasCached {
		t.Header = append(t.Header, "CACHED/TCP", "CACHED READ")
	}
	if hasLocal {
		t.Header = append(t.Header, "LOCAL/FLOOR")
	}
	t.Header = append(t.Header, strings.ToUpper(FloorName(rep.Hash))+" FLOOR", "READ FLOOR", "WRITE FLOOR")
	for _, f := range rep.Net {
		t.Header = append(t.Header, strings.ToUpper(f.Label()))
	}
	t.Header = append(t.Header, "CACHE")
	for _, rd := range rep.rounds() {
		row := []string{FormatBytes(rd.size), rd.pattern, rd.first.Delta(), FormatBytes(rd.first.ChangedBytes())}
		caches := map[string]bool{}
		for _, name := range tools {
			res, ok := rd.byTool[name]
			switch {
			case ok:
				row = append(row, secs(res.SyncSeconds))
				caches[res.Cache] = true
			case rep.Skipped[name] != "":
				row = append(row, "skipped")
			default:
				row = append(row, "-")
			}
		}
		if hasRsync {
			row = append(row, ratioCell(rd.byTool["rsync"], rd.byTool["tcp"], rep.Skipped["rsync"] != ""))
		}
		if hasCached {
			row = append(row, ratioCell(rd.byTool[Cached], rd.byTool["tcp"], false), cachedRead(rd.byTool[Cached]))
		}
		if hasLocal {
			row = append(row, xCell(rd.byTool["local"].Ratio))
		}
		row = append(row, secs(rd.first.FloorSeconds), secs(rd.first.ReadSeconds), secs(rd.first.WriteSeconds))
		for _, f := range rep.Net {
			if rf, ok := netFloorOf(rd.first.Net, f.Kind); ok { // the round's own
				f = rf
			}
			row = append(row, secs(f.TimeFor(rd.first.ChangedBytes())))
		}
		t.Add(append(row, cacheSummary(caches))...)
	}
	return t
}

func ratioCell(num, den Result, skipped bool) string {
	if skipped {
		return "skipped"
	}
	if num.SyncSeconds <= 0 || den.SyncSeconds <= 0 {
		return "-"
	}
	return xCell(num.SyncSeconds / den.SyncSeconds)
}

func xCell(x float64) string {
	if x <= 0 {
		return "-"
	}
	return fmt.Sprintf("%.2fx", x)
}

func cacheSummary(c map[string]bool) string {
	if len(c) == 1 {
		for k := range c {
			return k
		}
	}
	if len(c) == 0 {
		return "-"
	}
	return "mixed"
}

// WriteFloors describes the floors and the tools that were skipped.
func WriteFloors(w io.Writer, rep *Report) {
	fmt.Fprintln(w, "floors, measured in this run (loopback; both ends share this machine's cores):")
	switch FloorName(rep.Hash) {
	case "sha256":
		fmt.Fprintln(w, "  SHA256 FLOOR  sha256 of the matching blocks of both copies on all cores, warm, four blocks at a time as the engine hashes them (engine/sha256mb)")
	case "blake3":
		fmt.Fprintln(w, "  BLAKE3 FLOOR  blake3 of the matching blocks of both copies on all cores, warm, a block at a time in sixteen lanes as the engine hashes them (engine/blake3mb)")
	default:
		fmt.Fprintf(w, "  %s FLOOR  %s of the matching blocks of both copies on all cores, warm, a block at a time\n", strings.ToUpper(FloorName(rep.Hash)), FloorName(rep.Hash))
	}
	fmt.Fprintln(w, "  READ FLOOR    page-cache read of both copies on all cores")
	fmt.Fprintln(w, "  WRITE FLOOR   the changed bytes written beside the target as a sync writes it (O_DIRECT where taken, 4 MiB writes, a writer per worker, fdatasync), before the first sync of each repetition of a round, the fastest (and, in the targets, once more after its last sync)")
	for _, f := range rep.Net {
		detail := ""
		if f.Detail != "" {
			detail = ", " + f.Detail
		}
		switch f.Processes {
		case 1:
			detail += ", both ends in one process"
		case 2:
			detail += ", sender and receiver in two processes as the syncs"
		}
		fmt.Fprintf(w, "  %-13s %s (%d connection(s), %d stream(s), %s sent%s; best of %d, before the rounds, before each repetition of a round and after; a round's row and the 100%% targets take the best measured in that round)\n",
			strings.ToUpper(f.Label()), rate(f.BytesPerSecond()), f.Connections, f.Streams, FormatBytes(f.Bytes), detail, f.Samples)
	}
	for _, name := range rep.tools() {
		if why := rep.Skipped[name]; why != "" {
			fmt.Fprintf(w, "  %s column skipped: %s\n", strings.ToUpper(name), why)
		}
	}
}

// Spread is the run-to-run noise of a report: over every result with
// several runs, the median and the largest (slowest - fastest) / fastest.
func Spread(rep *Report) (median, largest float64, n int) {
	var d []float64
	for _, r := range rep.Results {
		if len(r.Runs) < 2 {
			continue
		}
		lo, hi := slices.Min(r.Runs), slices.Max(r.Runs)
		if lo > 0 {
			d = append(d, (hi-lo)/lo)
		}
	}
	if len(d) == 0 {
		return 0, 0, 0
	}
	slices.Sort(d)
	return d[len(d)/2], d[len(d)-1], len(d)
}

// WireTable is the bytes each tool put on the wire per round, both
// directions (bytes_wire; for rsync its total bytes sent and received), and
// the payload of changed blocks beside it (bytes_sent; rsync's literal
// data): what a slow link would carry.
func WireTable(rep *Report) *Table {
	tools := rep.tools()
	t := &Table{Header: []string{"SIZE", "PATTERN", "DELTA", "DATA"}, Left: 2}
	for _, name := range tools {
		u := strings.ToUpper(name)
		t.Header = append(t.Header, u+" WIRE", u+" SENT")
	}
	for _, rd := range rep.rounds() {
		row := []string{FormatBytes(rd.size), rd.pattern, rd.first.Delta(), FormatBytes(rd.first.ChangedBytes())}
		for _, name := range tools {
			res := rd.byTool[name]
			row = append(row, wireBytes(res.Stats.BytesWire), wireBytes(res.Stats.BytesSent))
		}
		t.Add(row...)
	}
	return t
}
