package bench

import (
	"fmt"
	"io"
	"slices"
)

// The tree case's goals (issue 16), judged on the tcp tool.
const (
	GoalTreeVsRsync = 0.5 // push of the changed tree over rsync -a --inplace --no-whole-file
	GoalTreeRerun   = 0.5 // seconds: a rerun with nothing changed
)

// TreeTable has one row per tool and run: TIME is the client's wall clock
// (start-up included, for every tool), VS RSYNC its ratio to rsync's time
// for the same run, WIRE the bytes both ways (bytes_wire; rsync's total
// sent and received).
func TreeTable(tr *TreeReport) *Table {
	t := &Table{Header: []string{"TOOL", "RUN", "CHANGED", "TIME", "VS RSYNC", "WIRE", "FLUSH",
		"CLIENT RSS", "SERVER RSS", "CPU S", "CACHE"}, Left: 2}
	for _, r := range tr.Results {
		vs := "-"
		if base, ok := tr.result("rsync", r.Run); ok && r.Tool != "rsync" && base.SyncSeconds > 0 {
			vs = fmt.Sprintf("%.2fx", r.SyncSeconds/base.SyncSeconds)
		}
		changed := "nothing"
		if r.Run == TreeChanged {
			changed = FormatBytes(r.ChangedBytes)
		}
		cpu := "-"
		if r.ClientCPU+r.ServerCPU > 0 {
			cpu = fmt.Sprintf("%.2f", r.ClientCPU+r.ServerCPU)
		}
		t.Add(r.Tool, r.Run, changed, secs(r.SyncSeconds), vs, wireBytes(r.Stats.BytesWire), secs(r.FlushSeconds),
			rss(r.ClientRSS), rss(r.ServerRSS), cpu, r.Cache)
	}
	return t
}

// WriteTree writes the tree case: what the tree was, the table, and the
// tools that did not run, with why.
func WriteTree(w io.Writer, tr *TreeReport) {
	s := tr.Spec
	fmt.Fprintf(w, "tree: %d files, %s: %d of %s to %s in %d directories and %d of %s, %d symlinks, %d empty directories; %.0f%% of the small files rewritten, %.0f%% of the large files' blocks changed; best of %d run(s)\n",
		tr.Files, FormatBytes(tr.Bytes), s.Files, FormatBytes(s.MinSize), FormatBytes(s.MaxSize), s.Dirs,
		s.Large, FormatBytes(s.LargeSize), s.Symlinks, s.EmptyDirs, s.SmallChanged*100, s.LargeChanged*100, runsOf(tr))
	if len(tr.Results) > 0 {
		TreeTable(tr).WriteText(w)
	}
	if tr.FloorSeconds > 0 {
		fmt.Fprintf(w, "%s floor of the changed tree: %s (every block of the large files on the changed side, the changed blocks on the other, on all cores)\n", FloorName(tr.Hash), secs(tr.FloorSeconds))
	}
	for _, r := range tr.Results {
		if r.Run == TreeChanged && len(r.Runs) > 1 && (r.Tool == "tcp" || r.Tool == "tcp-nocache") {
			fmt.Fprintf(w, "%s changed, every run in order: %s\n", r.Tool, runList(r.Runs))
		}
	}
	if _, ok := tr.result("tcp-nocache", TreeChanged); ok {
		fmt.Fprintln(w, "tcp pushes with default flags: both ends keep a block-hash cache across runs, so the records of the previous push serve every timed run (an untimed push of the identical trees with --checksum-all made the first ones); tcp-nocache is the same push with --no-cache")
	}
	names := make([]string, 0, len(tr.Skipped))
	for name := range tr.Skipped {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		fmt.Fprintf(w, "%s: skipped: %s\n", name, tr.Skipped[name])
	}
}

func runsOf(tr *TreeReport) int {
	n := 1
	for _, r := range tr.Results {
		n = max(n, len(r.Runs))
	}
	return n
}

func (tr *TreeReport) result(tool, run string) (TreeResult, bool) {
	for _, r := range tr.Results {
		if r.Tool == tool && r.Run == run {
			return r, true
		}
	}
	return TreeResult{}, false
}

// TreeTargets judges the tcp tool against the goals: the changed
// tree in at most GoalTreeVsRsync of rsync's time, a rerun with nothing
// changed in at most GoalTreeRerun seconds.
//
// With tls (the run's TLS floor; nil for none) the push's target also
// says what the floors allow: the tree's sha256 floor plus TLS of the
// push's wire bytes, over rsync's time.
func TreeTargets(tr *TreeReport, tls *NetFloor) []Target {
	if tr == nil {
		return nil
	}
	vs := Target{Name: fmt.Sprintf("tree push (tcp) at most %.1fx rsync's time", GoalTreeVsRsync), Status: NA}
	rerun := Target{Name: fmt.Sprintf("tree rerun with nothing changed (tcp) at most %.1f s", GoalTreeRerun), Status: NA}
	why := func(tool string) string {
		if s := tr.Skipped[tool]; s != "" {
			return tool + " skipped: " + s
		}
		return tool + " did not run"
	}
	tcp, okT := tr.result("tcp", TreeChanged)
	rs, okR := tr.result("rsync", TreeChanged)
	switch {
	case !okT:
		vs.Detail = why("tcp")
	case !okR:
		vs.Detail = why("rsync")
	default:
		vs.Value = tcp.SyncSeconds / rs.SyncSeconds
		vs.Detail = fmt.Sprintf("%.2fx (%s vs %s)", vs.Value, secs(tcp.SyncSeconds), secs(rs.SyncSeconds))
		vs.Status = passIf(vs.Value <= GoalTreeVsRsync)
		if tls != nil && tr.FloorSeconds > 0 {
			net := tls.TimeFor(tcp.Stats.BytesWire)
			vs.withFloor((tr.FloorSeconds+net)/rs.SyncSeconds, GoalTreeVsRsync, false,
				fmt.Sprintf("(%s %s + TLS of the wire bytes %s)", FloorName(tr.Hash), secs(tr.FloorSeconds), secs(net)))
		}
	}
	if r, ok := tr.result("tcp", TreeUnchanged); ok {
		rerun.Value = r.SyncSeconds
		rerun.Detail = secs(r.SyncSeconds)
		if rs, ok := tr.result("rsync", TreeUnchanged); ok {
			rerun.Detail += " (rsync " + secs(rs.SyncSeconds) + ")"
		}
		rerun.Status = passIf(r.SyncSeconds <= GoalTreeRerun)
	} else {
		rerun.Detail = why("tcp")
	}
	return []Target{vs, rerun}
}

func runList(runs []float64) string {
	var b []byte
	for i, x := range runs {
		if i > 0 {
			b = append(b, ", "...)
		}
		b = append(b, secs(x)...)
	}
	return string(b)
}
