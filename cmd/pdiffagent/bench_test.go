package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pdiffagent/pdiffagent/bench"
)

func TestBenchEndToEnd(t *testing.T) {
	t.Setenv(asCLIEnv, "1") // the bench's children are this binary (TestMain)
	dir, out := t.TempDir(), t.TempDir()
	code, msg := execute(t, "bench", "--size", "3M", "--rounds", "2", "-b", "64K", "--dir", dir,
		"--floor-bytes", "4M", "--pattern", "random,insert", "--vs-rsync", "--tree", "--tree-scale", "0.0001", "--tree-files", "40", "--out", out, "-q")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, msg)
	}
	var rep bench.Report
	b, err := os.ReadFile(filepath.Join(out, "latest.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatal(err)
	}
	tools := map[string]int{}
	for _, r := range rep.Results {
		tools[r.Tool]++
		if !r.Verified || (r.Tool != "rsync" && r.ClientRSS <= 0) || ((r.Tool == "tcp" || r.Tool == "quic") && r.ServerRSS <= 0) {
			t.Errorf("result %+v", r)
		}
	}
	wantRsync := 3
	if rep.Skipped["rsync"] != "" {
		wantRsync = 0
	}
	if tools["local"] != 3 || tools["tcp"] != 3 || tools[bench.Cached] != 3 || tools["quic"] != 3 || tools["rsync"] != wantRsync {
		t.Errorf("runs per tool %v (skipped %v)", tools, rep.Skipped)
	}
	for _, r := range rep.Results {
		// The cached push's server used the record the untimed push before
		// it made, and at 10% read less than the replica; the client had no
		// record of the source it could use (stale after the first round).
		if r.Tool == bench.Cached && (r.Stats.TargetCache != "hit" || r.Stats.SourceCache == "hit" ||
			(r.Changed == 0.1 && r.Pattern == "random" && r.Stats.TargetRead >= r.Size)) {
			t.Errorf("cached push: target %s read %d, source %s", r.Stats.TargetCache, r.Stats.TargetRead, r.Stats.SourceCache)
		}
	}
	checkBenchTree(t, rep.Tree, rep.Skipped["rsync"] == "")
	if len(rep.Net) != 4 || len(rep.Targets) != 6+2 { // tcp, tls, rec, quic
		t.Errorf("floors %+v targets %+v", rep.Net, rep.Targets)
	}
	for _, f := range rep.Net {
		if f.Processes != 2 || f.Seconds <= 0 || f.Bytes <= 0 {
			t.Errorf("floor %+v: want one measured between two processes", f)
		}
	}
	for _, ext := range []string{"txt", "md", "csv", "svg"} {
		b, err := os.ReadFile(filepath.Join(out, "latest."+ext))
		if err != nil || len(b) == 0 {
			t.Errorf("latest.%s: %v", ext, err)
		}
	}
	txt, _ := os.ReadFile(filepath.Join(out, "latest.txt"))
	for _, want := range []string{"machine:", "RSYNC/TCP", "CACHED/TCP", "targets:", "insert", "tree: 43 files", "REC X2"} {
		if !strings.Contains(string(txt), want) {
			t.Errorf("latest.txt lacks %q:\n%s", want, txt)
		}
	}
	if n := strings.Count(string(txt), "targets:"); n != 1 {
		t.Errorf("latest.txt has the summary %d times", n)
	}
	if left, _ := filepath.Glob(filepath.Join(dir, "*")); len(left) != 0 {
		t.Errorf("work files left: %v", left)
	}
}

// checkBenchTree checks the tree case of a bench run: rsync's two runs
// verified (when it is installed), and tcp's and local's too, or each
// skipped because this build's command does not take a directory.
func checkBenchTree(t *testing.T, tr *bench.TreeReport, rsync bool) {
	t.Helper()
	if tr == nil || tr.Files != 43 {
		t.Fatalf("tree case: %+v", tr)
	}
	runs := map[string]int{}
	for _, r := range tr.Results {
		if !r.Verified || r.SyncSeconds <= 0 {
			t.Errorf("tree result %+v", r)
		}
		runs[r.Tool]++
	}
	for _, tool := range []string{"tcp", "local"} {
		if skip := tr.Skipped[tool]; (skip == "") != (runs[tool] == 2) || (skip != "" && !strings.Contains(skip, "not supported")) {
			t.Errorf("tree case: %s ran %d times, skipped: %q", tool, runs[tool], skip)
		}
	}
	if rsync && runs["rsync"] != 2 {
		t.Errorf("tree case: rsync ran %d times (skipped: %q)", runs["rsync"], tr.Skipped["rsync"])
	}
}

func TestBenchUsage(t *testing.T) {
	for _, args := range [][]string{
		{"bench", "--rounds", "3", "--changed", "10%"},
		{"bench", "--rounds", "0"},
		{"bench", "--changed", "150%"},
		{"bench", "--pattern", "middle"},
		{"bench", "--tools", "ftp"},
		{"bench", "--connections", "9", "-c", "2"},
		{"bench", "--json", "--csv"},
		{"bench", "--sizes", "1G,zero"},
		{"bench", "--tree", "--tree-scale", "2"},
		{"bench", "--tree", "--tree-files", "0"},
	} {
		if code, msg := execute(t, append(args, "--dir", t.TempDir())...); code != exitUsage {
			t.Errorf("%v: exit %d (%s), want %d", args, code, msg, exitUsage)
		}
	}
}

// TestBenchJSONFailure: a bench that fails after its report is made (here
// the report cannot be saved) prints one JSON object, the report, with
// error and error_code (the --json contract).
func TestBenchJSONFailure(t *testing.T) {
	t.Setenv(asCLIEnv, "1")
	save := filepath.Join(t.TempDir(), "nosuch", "report.json")
	var code int
	out := captureStdout(t, func() {
		code, _ = execute(t, "bench", "--json", "--size", "256K", "--changed", "10%", "-b", "64K", "--tools", "local",
			"--floor-bytes", "256K", "--dir", t.TempDir(), "--save", save, "-q")
	})
	dec := json.NewDecoder(strings.NewReader(out))
	var rep bench.Report
	if err := dec.Decode(&rep); err != nil {
		t.Fatalf("exit %d, stdout %q: %v", code, out, err)
	}
	if dec.More() {
		t.Fatalf("stdout holds more than one object: %q", out)
	}
	if rep.ErrorCode != codeNotFound || !strings.Contains(rep.Error, "nosuch") || len(rep.Results) != 1 || code != exitError {
		t.Errorf("exit %d, error %q, error_code %q, %d results; want exit %d, the save's error, %q, the report's one result",
			code, rep.Error, rep.ErrorCode, len(rep.Results), exitError, codeNotFound)
	}
}
