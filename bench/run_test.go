package bench

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// copyTool "syncs" by copying: always correct.
var copyTool = Tool{Name: "tcp", Sync: func(_ context.Context, src, dst string) (Outcome, error) {
	return Outcome{ClientRSS: 10 << 20, ServerRSS: 20 << 20}, CopyFile(src, dst)
}}

// slowTool is correct too, and reports a time of its own.
var slowTool = Tool{Name: "rsync", Sync: func(_ context.Context, src, dst string) (Outcome, error) {
	return Outcome{Seconds: 9}, CopyFile(src, dst)
}}

// noopTool does nothing: wrong whenever a block changed.
var noopTool = Tool{Name: "noop", Sync: func(context.Context, string, string) (Outcome, error) {
	return Outcome{}, nil
}}

func TestRun(t *testing.T) {
	var rows []Result
	cfg := Config{Dir: t.TempDir(), Sizes: []int64{1<<20 + 5}, Changed: []float64{0.1, 1}, BlockSize: 64 << 10,
		Patterns: []Pattern{Random, Insert}, Seed: 1,
		Tools:  []Tool{copyTool, slowTool, {Name: "quic", Skip: "not here"}},
		Net:    NetConfig{Bytes: 4 << 20, Workers: 2, Connections: 1, Kinds: []string{"tcp", "tls", "quic"}},
		Result: func(r Result) { rows = append(rows, r) }}
	rep, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Results) != 6 || len(rows) != 6 {
		t.Fatalf("%d results, %d callbacks", len(rep.Results), len(rows))
	}
	r := rep.Results[0]
	if !r.Verified || r.Blocks != 17 || r.BlocksMutated != 2 || r.SyncSeconds <= 0 || r.Cache != "warm" {
		t.Errorf("result %+v", r)
	}
	// The insertion is InsertAt (1 MiB) in: only the last of 17 blocks moves.
	if r := rep.Results[5]; r.Pattern != "insert" || r.BlocksMutated != 1 || r.Changed != 1.0/17 {
		t.Errorf("insert round %+v", rep.Results[5])
	}
	if len(rep.Net) != 3 || rep.Skipped["quic"] != "not here" {
		t.Errorf("floors %+v, skipped %v", rep.Net, rep.Skipped)
	}
	rep.Targets = Evaluate(rep)
	var buf bytes.Buffer
	WriteDetailHeader(&buf)
	WriteDetailRow(&buf, r)
	SummaryTable(rep).WriteText(&buf)
	WriteFloors(&buf, rep)
	WriteTargets(&buf, rep.Targets)
	if err := WriteJSON(&buf, rep); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"10.0%", "RSYNC/TCP", "skipped", `"floor_seconds"`, "PASS", "QUIC column skipped: not here"} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, buf.String())
		}
	}
	if left, _ := filepath.Glob(filepath.Join(cfg.Dir, "*")); len(left) != 0 {
		t.Errorf("work files left: %v", left)
	}
}

func TestRunCold(t *testing.T) {
	cfg := Config{Dir: t.TempDir(), Sizes: []int64{1 << 20}, Changed: []float64{0.5}, BlockSize: 64 << 10,
		Patterns: []Pattern{Prefix}, Cold: true, Tools: []Tool{copyTool}}
	rep, err := Run(context.Background(), cfg)
	if err != nil {
		t.Skipf("cannot evict here: %v", err)
	}
	if c := rep.Results[0].Cache; c == "warm" {
		t.Errorf("cache %q after eviction", c)
	}
}

func TestRunCatchesWrongResult(t *testing.T) {
	cfg := Config{Dir: t.TempDir(), Sizes: []int64{1 << 20}, Changed: []float64{0.1}, BlockSize: 64 << 10,
		Patterns: []Pattern{Random}, Tools: []Tool{noopTool}}
	if _, err := Run(context.Background(), cfg); err == nil || !strings.Contains(err.Error(), "differs") {
		t.Fatalf("got %v, want a 'differs' error", err)
	}
}

func TestResidentAndRSS(t *testing.T) {
	p := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(p, make([]byte, 1<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	r, err := Resident(p)
	if err != nil || r < -1 || r > 1 {
		t.Fatalf("Resident = %v, %v", r, err)
	}
	if PeakRSS() < 0 {
		t.Fatal("negative peak RSS")
	}
	if m := Describe(t.TempDir()); m.Cores < 1 || m.String() == "" {
		t.Errorf("machine %+v", m)
	}
}
