package bench

import (
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
)

// Goals the benchmark judges pdiffagent by.
const (
	// GoalRsyncTime: tcp's time at 10% changed at most this share of
	// rsync --inplace --no-whole-file's (issue 14; it was a 4x speed-up).
	GoalRsyncTime = 0.35
	// GoalLocalFloor: the local sync at 10% changed within this multiple
	// of the sha256 floor (issue 14).
	GoalLocalFloor = 1.3
	// GoalFloorShare: tcp at 100% changed at least this share of plain
	// TLS 1.3's throughput (issue 14); GoalQUICShare the same for quic
	// against raw quic-go (issue 3).
	GoalFloorShare = 0.7
	GoalQUICShare  = 0.8
	GoalPeakRSS    = 200 << 20 // bytes, each agent process
	// GoalPagesWire: with the pages pattern, tcp's bytes_wire at most
	// rsync's total bytes sent and received.
	GoalPagesWire = 1.0
	// GoalPagesBLAKE3: tcp's time over rsync's at 100 pages with -m
	// blake3 (issue 14).
	GoalPagesBLAKE3 = 0.9
)

// goalPagesTime is tcp's time over rsync's allowed with the pages
// pattern: 1.3x at 100 pages and fewer (GoalPagesBLAKE3 with -m blake3),
// 0.8x from 1000 pages on.
func goalPagesTime(pages int64, hash string) float64 {
	switch {
	case pages >= 1000:
		return 0.8
	case hash == "blake3":
		return GoalPagesBLAKE3
	}
	return 1.3
}

// Target statuses.
const (
	Pass = "PASS"
	Miss = "MISS"
	Info = "INFO" // a measured ratio without a goal
	NA   = "N/A"  // not measured in this run; Detail says why
)

// Target is one goal and how this run did against it.
type Target struct {
	Name   string  `json:"name"`
	Value  float64 `json:"value"` // the ratio or size judged
	Detail string  `json:"detail"`
	Status string  `json:"status"`
	// Floor is the same ratio for the floors measured in the run that the
	// tool's work cannot go below on the same cores (0: none measured):
	// where it misses the goal itself, the goal is out of reach here.
	Floor float64 `json:"floor,omitempty"`
}

// withFloor sets t's Floor and appends to its Detail what the floors,
// described by parts, allow: a ratio beyond goal (above it, or below it
// when higher is better) is out of reach on this machine.
func (t *Target) withFloor(floor, goal float64, higherBetter bool, parts string) {
	if floor <= 0 {
		return
	}
	t.Floor = floor
	out, shown := floor > goal, fmt.Sprintf("%.2fx", floor)
	if higherBetter {
		out, shown = floor < goal, fmt.Sprintf("%.0f%%", floor*100)
	}
	verdict := "within reach"
	if out {
		verdict = "out of reach here"
	}
	t.Detail += fmt.Sprintf("; floors %s: %s, %s", parts, shown, verdict)
}

// Evaluate judges every size's rounds of the first fractional pattern
// against the goals.
func Evaluate(rep *Report) []Target {
	var out []Target
	pattern := ""
	for _, p := range rep.Patterns {
		if p != Insert.String() && p != Inserts.String() && p != Pages.String() {
			pattern = p
			break
		}
	}
	for _, size := range rep.Sizes {
		prefix := ""
		if len(rep.Sizes) > 1 {
			prefix = FormatBytes(size) + ": "
		}
		at := func(tool string, changed float64) (Result, bool) {
			for _, r := range rep.Results {
				if r.Size == size && r.Pattern == pattern && r.Tool == tool && math.Abs(r.Changed-changed) < 1e-9 {
					return r, true
				}
			}
			return Result{}, false
		}
		add := func(t Target) {
			t.Name = prefix + t.Name
			out = append(out, t)
		}
		if l, ok := at("local", 0.1); ok {
			add(Target{Name: fmt.Sprintf("local sync at 10%% within %.1fx its %s floor", GoalLocalFloor, FloorName(rep.Hash)), Value: l.Ratio,
				Status: passIf(l.Ratio <= GoalLocalFloor),
				Detail: fmt.Sprintf("%.2fx the floor (%s vs %s %s, read %s)", l.Ratio,
					secs(l.SyncSeconds), FloorName(rep.Hash), secs(l.FloorSeconds), secs(l.ReadSeconds))})
		}
		add(rsyncTarget(rep, at))
		if slices.Contains(rep.tools(), Cached) {
			add(cachedTarget(rep, at))
		}
		add(floorTarget(rep, at, "tcp", "tls", GoalFloorShare))
		add(floorTarget(rep, at, "quic", "quic", GoalQUICShare))
		for _, t := range pagesTargets(rep, size) {
			add(t)
		}
	}
	return append(out, rssTarget(rep))
}

// pagesTargets judges tcp against rsync in every pages round of size:
// bytes on the wire and time.
func pagesTargets(rep *Report, size int64) []Target {
	var out []Target
	for _, rd := range rep.rounds() {
		if rd.size != size || rd.pattern != Pages.String() {
			continue
		}
		tcp, okT := rd.byTool["tcp"]
		rs, okR := rd.byTool["rsync"]
		if !okT || !okR || rs.Stats.BytesWire <= 0 {
			continue
		}
		n := tcp.Pages
		w := Target{Name: fmt.Sprintf("tcp at %d pages puts no more on the wire than rsync", n)}
		w.Value = float64(tcp.Stats.BytesWire) / float64(rs.Stats.BytesWire)
		w.Detail = fmt.Sprintf("%.2fx (tcp %s, rsync %s sent and received)", w.Value, FormatBytes(tcp.Stats.BytesWire), FormatBytes(rs.Stats.BytesWire))
		w.Status = passIf(w.Value <= GoalPagesWire)
		goal := goalPagesTime(n, rep.Hash)
		tt := Target{Name: fmt.Sprintf("tcp at %d pages at most %.1fx rsync's time", n, goal)}
		tt.Value = tcp.SyncSeconds / rs.SyncSeconds
		tt.Detail = fmt.Sprintf("%.2fx (tcp %s, rsync %s)", tt.Value, secs(tcp.SyncSeconds), secs(rs.SyncSeconds))
		tt.Status = passIf(tt.Value <= goal)
		if tls, ok := rep.NetFloorOf("tls"); ok && tcp.FloorSeconds > 0 {
			f := tcp.FloorSeconds + tls.TimeFor(tcp.Stats.BytesWire)
			tt.withFloor(f/rs.SyncSeconds, goal, false, fmt.Sprintf("(%s of what matches %s + TLS of tcp's wire bytes %s)",
				FloorName(rep.Hash), secs(tcp.FloorSeconds), secs(tls.TimeFor(tcp.Stats.BytesWire))))
		}
		out = append(out, w, tt)
	}
	return out
}

func rsyncTarget(rep *Report, at func(string, float64) (Result, bool)) Target {
	t := Target{Name: fmt.Sprintf("tcp at 10%% at most %.2fx rsync's time", GoalRsyncTime), Status: NA}
	tcp, okT := at("tcp", 0.1)
	rs, okR := at("rsync", 0.1)
	switch {
	case rep.Skipped["rsync"] != "":
		t.Detail = "rsync skipped: " + rep.Skipped["rsync"]
	case !okT || !okR:
		t.Detail = "needs a 10% round with tcp and rsync (--vs-rsync)"
	default:
		t.Value = tcp.SyncSeconds / rs.SyncSeconds
		t.Detail = fmt.Sprintf("%.2fx (tcp %s, rsync %s)", t.Value, secs(tcp.SyncSeconds), secs(rs.SyncSeconds))
		t.Status = passIf(t.Value <= GoalRsyncTime)
		if tls, ok := rep.NetFloorOf("tls"); ok && tcp.FloorSeconds > 0 {
			f := tcp.FloorSeconds + tls.TimeFor(tcp.ChangedBytes())
			t.withFloor(f/rs.SyncSeconds, GoalRsyncTime, false, fmt.Sprintf("(%s of what matches %s + TLS of the changed blocks %s)",
				FloorName(rep.Hash), secs(tcp.FloorSeconds), secs(tls.TimeFor(tcp.ChangedBytes()))))
		}
	}
	return t
}

func floorTarget(rep *Report, at func(string, float64) (Result, bool), tool, floor string, goal float64) Target {
	name := map[string]string{"tls": "plain TLS 1.3", "quic": "raw quic-go"}[floor]
	t := Target{Name: fmt.Sprintf("%s at 100%% at least %.0f%% of %s", tool, goal*100, name), Status: NA}
	r, ok := at(tool, 1)
	// The floor measured in the round, beside the tool's runs (as many
	// samples); a report without it (an older one) has the run's only.
	f, okF := netFloorOf(r.Net, floor)
	all, okAll := rep.NetFloorOf(floor)
	if !okF {
		f, okF = all, okAll
	}
	switch {
	case !ok:
		t.Detail = fmt.Sprintf("needs a 100%% round with %s", tool)
	case !okF:
		t.Detail = "the " + floor + " floor was not measured"
	default:
		bps := float64(r.Size) / r.SyncSeconds
		t.Value = bps / f.BytesPerSecond()
		t.Detail = fmt.Sprintf("%.0f%% (%s = %s in %s; %s %s, the fastest of %d measured in the round",
			t.Value*100, tool, FormatBytes(r.Size), rate(bps), f.Label(), rate(f.BytesPerSecond()), f.Samples)
		if okAll && all.BytesPerSecond() > f.BytesPerSecond() {
			t.Detail += fmt.Sprintf("; %.0f%% of the run's fastest, %s", 100*bps/all.BytesPerSecond(), rate(all.BytesPerSecond()))
		}
		// The tls floor is crypto/tls; where the agents' own records are
		// faster (agent/vaesgcm), say how far the tool is from those too.
		if rec, ok := netFloorOf(r.Net, "rec"); floor == "tls" && ok && rec.BytesPerSecond() > f.BytesPerSecond() {
			t.Detail += fmt.Sprintf("; %.0f%% of the agents' own records, %s %s: their AES-GCM is faster than crypto/tls's",
				100*bps/rec.BytesPerSecond(), rec.Label(), rate(rec.BytesPerSecond()))
		}
		t.Detail += ")"
		t.Status = passIf(t.Value >= goal)
		if r.ReadSeconds > 0 {
			// The floor's transfer plus a read of both copies, on the same
			// cores, beside writing the changed bytes to the target's disk
			// (which may overlap them, and takes no longer than that only
			// if the disk keeps up).
			ft := f.TimeFor(r.Size)
			parts := fmt.Sprintf("(%s %s + reading both copies %s", f.Label(), secs(ft), secs(r.ReadSeconds))
			least := ft + r.ReadSeconds
			if r.WriteSeconds > 0 {
				parts += fmt.Sprintf("; writing the changed bytes to the target's disk %s", secs(r.WriteSeconds))
				if r.WriteAfterSeconds > 0 {
					parts += fmt.Sprintf(" before the round's syncs, %s after them", secs(r.WriteAfterSeconds))
				}
				least = max(least, r.WriteSeconds)
			}
			t.withFloor(ft/least, goal, true, parts+")")
		}
	}
	return t
}

func rssTarget(rep *Report) Target {
	t := Target{Name: fmt.Sprintf("peak RSS of each agent under %s", FormatBytes(GoalPeakRSS)), Status: NA,
		Detail: "no pdiffagent sync measured"}
	var parts []string
	for _, tool := range []string{"local", "tcp", Cached, "quic"} {
		var c, s int64
		for _, r := range rep.Results {
			if r.Tool == tool {
				c, s = max(c, r.ClientRSS), max(s, r.ServerRSS)
			}
		}
		if c == 0 && s == 0 {
			continue
		}
		t.Value = max(t.Value, float64(max(c, s)))
		if tool == "local" {
			parts = append(parts, fmt.Sprintf("local %s", rss(c)))
		} else {
			parts = append(parts, fmt.Sprintf("%s client %s, server %s", tool, rss(c), rss(s)))
		}
	}
	if len(parts) > 0 {
		t.Detail = strings.Join(parts, "; ")
		t.Status = passIf(t.Value < GoalPeakRSS)
	}
	return t
}

func passIf(ok bool) string {
	if ok {
		return Pass
	}
	return Miss
}

// WriteTargets writes one line per target, its status first.
func WriteTargets(w io.Writer, ts []Target) {
	fmt.Fprintln(w, "targets:")
	for _, t := range ts {
		fmt.Fprintf(w, "  %-4s  %s: %s\n", t.Status, t.Name, t.Detail)
	}
}
