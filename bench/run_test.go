package bench

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pdiffagent/pdiffagent/engine"
)

// copyTool "syncs" by copying: always correct.
var copyTool = Tool{Name: "copy", Sync: func(_ context.Context, src, dst string) (engine.Stats, error) {
	return engine.Stats{}, CopyFile(src, dst)
}}

// noopTool does nothing: wrong whenever a block changed.
var noopTool = Tool{Name: "noop", Sync: func(context.Context, string, string) (engine.Stats, error) {
	return engine.Stats{}, nil
}}

func TestRun(t *testing.T) {
	var rows []Result
	cfg := Config{Dir: t.TempDir(), Size: 1<<20 + 5, Changed: []float64{0, 0.5}, BlockSize: 64 << 10,
		Seed: 1, Tools: []Tool{copyTool}, Result: func(r Result) { rows = append(rows, r) }}
	rep, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Results) != 2 || len(rows) != 2 {
		t.Fatalf("%d results, %d callbacks", len(rep.Results), len(rows))
	}
	r := rep.Results[1]
	if !r.Verified || r.Blocks != 17 || r.BlocksMutated != 9 || r.SyncSeconds <= 0 {
		t.Errorf("result %+v", r)
	}
	var buf bytes.Buffer
	WriteTableHeader(&buf)
	WriteTableRow(&buf, r)
	if err := WriteJSON(&buf, rep); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "50.0%") || !strings.Contains(buf.String(), `"floor_seconds"`) {
		t.Errorf("output:\n%s", buf.String())
	}
	if left, _ := filepath.Glob(filepath.Join(cfg.Dir, "*")); len(left) != 0 {
		t.Errorf("work files left: %v", left)
	}
}

func TestRunCatchesWrongResult(t *testing.T) {
	cfg := Config{Dir: t.TempDir(), Size: 1 << 20, Changed: []float64{0.1}, BlockSize: 64 << 10,
		Tools: []Tool{noopTool}}
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
}
