package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/pdiffagent/pdiffagent/bench"
)

// benchText is the bench's table output, kept for --out as it is printed.
type benchText struct {
	w   io.Writer
	buf bytes.Buffer
}

// writeBenchSummary writes what follows the per-sync rows: the machine, the
// side-by-side table, the floors, the targets and, with several sizes, how
// time and memory grew.
func writeBenchSummary(w io.Writer, rep *bench.Report) {
	fmt.Fprintf(w, "\nmachine: %s\n", rep.Machine)
	fmt.Fprintf(w, "settings: %s\n", benchSettings(rep))
	fmt.Fprintf(w, "other load: %s\n", loadNote(rep.Load))
	fmt.Fprintf(w, "noise: %s\n\n", noiseNote(rep))
	bench.SummaryTable(rep).WriteText(w)
	fmt.Fprintln(w, "\nbytes on the wire (WIRE: both directions, frames included; SENT: changed blocks' payload, rsync's literal data):")
	bench.WireTable(rep).WriteText(w)
	fmt.Fprintln(w)
	bench.WriteFloors(w, rep)
	fmt.Fprintln(w)
	if rep.Tree != nil {
		bench.WriteTree(w, rep.Tree)
		fmt.Fprintln(w)
	}
	bench.WriteTargets(w, rep.Targets)
	if len(rep.Sizes) > 1 {
		fmt.Fprintln(w)
		bench.ScaleTable(rep).WriteText(w)
		bench.WriteGrowth(w, rep)
	}
}

// benchSettings is one line on how the run was made.
func benchSettings(rep *bench.Report) string {
	cache := "warm (both files read just before each sync)"
	if rep.Cold {
		cache = "cold (both files evicted before each sync)"
	}
	s := fmt.Sprintf("%s blocks, %s; %s; times are the best of %d run(s) per tool and round; run took %.0f s",
		formatSize(int64(rep.BlockSize)), strings.Join(rep.Patterns, "+")+" changes", cache, rep.Repeat, rep.Seconds)
	if rep.ReadPath != "" {
		s += "; pdiffagent reads with " + rep.ReadPath
	}
	if rep.Hash != "" {
		s += "; pdiffagent confirms with " + rep.Hash + " (-m)"
	}
	if v := bench.RsyncVersion(); v != "" && rep.Skipped["rsync"] == "" && hasTool(rep, "rsync") {
		s += "; " + v + " " + strings.Join(bench.RsyncArgs, " ")
	}
	return s
}

// loadNote describes the other work the machine did during the run.
func loadNote(l bench.Load) string {
	s := fmt.Sprintf("%.2f cores busy with other processes on average, %.2f stolen by the hypervisor", l.OtherCores, l.StealCores)
	if l.OtherCores+l.StealCores > 0.25 {
		s += " (DISTURBED: re-run when the machine is quiet)"
	}
	return s
}

// noiseNote says how much the repetitions of a sync differed.
func noiseNote(rep *bench.Report) string {
	med, most, n := bench.Spread(rep)
	if n == 0 {
		return "not measured (--repeat 1)"
	}
	return fmt.Sprintf("the slower run of a sync took %.0f%% longer than the faster one (median of %d; at most %.0f%%)", med*100, n, most*100)
}

func hasTool(rep *bench.Report, name string) bool {
	for _, r := range rep.Results {
		if r.Tool == name {
			return true
		}
	}
	return false
}

// writeBenchMarkdown is the summary for a README: the table as Markdown,
// the floors and the targets as lists.
func writeBenchMarkdown(w io.Writer, rep *bench.Report) {
	fmt.Fprintf(w, "Machine: %s.  \nSettings: %s.  \nOther load: %s.  \nNoise: %s.\n\n", rep.Machine, benchSettings(rep), loadNote(rep.Load), noiseNote(rep))
	bench.SummaryTable(rep).WriteMarkdown(w)
	fmt.Fprintln(w, "\nBytes on the wire (WIRE: both directions, frames included; SENT: changed blocks' payload, rsync's literal data):")
	fmt.Fprintln(w)
	bench.WireTable(rep).WriteMarkdown(w)
	fmt.Fprintln(w)
	var floors bytes.Buffer
	bench.WriteFloors(&floors, rep)
	fmt.Fprintln(w, "```")
	io.Copy(w, &floors)
	fmt.Fprintln(w, "```")
	fmt.Fprintln(w)
	if rep.Tree != nil {
		var tree bytes.Buffer
		bench.WriteTree(&tree, rep.Tree)
		fmt.Fprintf(w, "Tree case:\n\n```\n%s```\n\n", tree.String())
	}
	for _, t := range rep.Targets {
		fmt.Fprintf(w, "- **%s** %s: %s\n", t.Status, t.Name, t.Detail)
	}
	if len(rep.Sizes) > 1 {
		fmt.Fprintln(w)
		bench.ScaleTable(rep).WriteMarkdown(w)
		fmt.Fprintln(w, "\n```")
		bench.WriteGrowth(w, rep)
		fmt.Fprintln(w, "```")
	}
}

// saveResults writes the report into dir as bench-STAMP.{txt,md,json,csv,svg}
// and copies each to latest.*. detail is the per-sync rows printed as the
// run went (empty with --json or --csv).
func saveResults(dir string, rep *bench.Report, detail []byte) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	stamp := rep.Started.Format("20060102-150405")
	files := map[string]func(io.Writer) error{
		"txt": func(w io.Writer) error {
			if len(detail) == 0 {
				bench.WriteDetailHeader(w)
				for _, r := range rep.Results {
					bench.WriteDetailRow(w, r)
				}
			} else {
				w.Write(detail)
			}
			writeBenchSummary(w, rep)
			return nil
		},
		"md":   func(w io.Writer) error { writeBenchMarkdown(w, rep); return nil },
		"json": func(w io.Writer) error { return bench.WriteJSON(w, rep) },
		"csv":  func(w io.Writer) error { return bench.WriteCSV(w, rep) },
		"svg":  func(w io.Writer) error { return bench.ChartFromReport(rep).WriteSVG(w) },
	}
	for ext, write := range files {
		for _, name := range []string{"bench-" + stamp, "latest"} {
			if err := writeFile(filepath.Join(dir, name+"."+ext), write); err != nil {
				return err
			}
		}
	}
	return nil
}

// writeFile creates path and fills it with write.
func writeFile(path string, write func(io.Writer) error) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := write(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
