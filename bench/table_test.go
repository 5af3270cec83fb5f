package bench

import (
	"bytes"
	"encoding/csv"
	"math"
	"strings"
	"testing"
)

// sampleReport is a run of tcp and rsync at 10% and 100% of 1 GiB.
func sampleReport() *Report {
	const gib = 1 << 30
	r := func(tool string, changed, secs float64, c, s int64) Result {
		return Result{Tool: tool, Pattern: "random", Changed: changed, Size: gib, BlockSize: 1 << 20,
			Blocks: 1024, BlocksMutated: int64(changed * 1024), SyncSeconds: secs, FloorSeconds: 0.5,
			ReadSeconds: 0.1, Cache: "warm", ClientRSS: c, ServerRSS: s, Verified: true}
	}
	return &Report{Sizes: []int64{gib}, BlockSize: 1 << 20, Patterns: []string{"random", "insert"},
		Net:     []NetFloor{{Kind: "tls", Connections: 2, Streams: 2, Bytes: gib, Seconds: 0.5}},
		Skipped: map[string]string{"quic": "not built"},
		Results: []Result{
			r("tcp", 0.1, 1, 50<<20, 60<<20), r("rsync", 0.1, 5, 2<<20, 3<<20),
			r("rsync", 1, 8, 2<<20, 3<<20), r("tcp", 1, 1, 90<<20, 250<<20),
		}}
}

// TestFloorNamed: a run with -m blake3 names its strong floor blake3, in
// the table, the floors' legend and the 10% target's text.
func TestFloorNamed(t *testing.T) {
	rep := sampleReport()
	rep.Hash = "blake3"
	if h := strings.Join(SummaryTable(rep).Header, ","); !strings.Contains(h, ",BLAKE3 FLOOR,") || strings.Contains(h, "SHA256") {
		t.Errorf("header %s", h)
	}
	var b bytes.Buffer
	WriteFloors(&b, rep)
	if !strings.Contains(b.String(), "BLAKE3 FLOOR  blake3 of the matching blocks") || strings.Contains(b.String(), "SHA256") {
		t.Errorf("floors:\n%s", b.String())
	}
	for _, x := range Evaluate(rep) {
		if strings.Contains(x.Name, "sha256") || strings.Contains(x.Detail, "sha256") {
			t.Errorf("target %q: %s", x.Name, x.Detail)
		}
	}
}

func TestSummaryTable(t *testing.T) {
	rep := sampleReport()
	tab := SummaryTable(rep)
	want := []string{"SIZE", "PATTERN", "DELTA", "DATA", "TCP", "QUIC", "RSYNC", "RSYNC/TCP",
		"SHA256 FLOOR", "READ FLOOR", "WRITE FLOOR", "TLS X2", "CACHE"}
	if strings.Join(tab.Header, ",") != strings.Join(want, ",") {
		t.Fatalf("header %q", tab.Header)
	}
	if len(tab.Rows) != 2 {
		t.Fatalf("%d rows", len(tab.Rows))
	}
	row := strings.Join(tab.Rows[0], "|")
	if row != "1.0 GiB|random|10.0%|102.0 MiB|1.00s|skipped|5.00s|5.00x|0.50s|0.10s|-|0.05s|warm" {
		t.Errorf("row %q", row)
	}
	var b bytes.Buffer
	tab.WriteText(&b)
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	if len(lines) != 3 || len(lines[0]) != len(strings.TrimRight(lines[1], " ")) {
		t.Errorf("text table not aligned:\n%s", b.String())
	}
	b.Reset()
	tab.WriteMarkdown(&b)
	if !strings.HasPrefix(b.String(), "| SIZE | PATTERN |") || !strings.Contains(b.String(), "|---|---|--:|") {
		t.Errorf("markdown:\n%s", b.String())
	}
}

func TestTargets(t *testing.T) {
	ts := Evaluate(sampleReport())
	// tcp 10%: 5x rsync; tcp 100%: 1 GiB/s of 2.1 GB/s; quic: not run;
	// peak RSS: 250 MiB.
	want := []string{Pass, Miss, NA, Miss}
	if len(ts) != len(want) {
		t.Fatalf("targets %+v", ts)
	}
	for i, x := range ts {
		if x.Status != want[i] {
			t.Errorf("%s: %s (%s), want %s", x.Name, x.Status, x.Detail, want[i])
		}
	}
}

func TestCSV(t *testing.T) {
	var b bytes.Buffer
	if err := WriteCSV(&b, sampleReport()); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&b).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 5 || len(rows[0]) != len(csvHeader) || rows[1][0] != "tcp" || rows[1][2] != "0.1" {
		t.Errorf("csv %q", rows)
	}
}

func TestScale(t *testing.T) {
	rep := sampleReport()
	big := rep.Results[0]
	big.Size, big.SyncSeconds = 4<<30, 4.2
	rep.Results = append(rep.Results, big)
	rep.Sizes = append(rep.Sizes, 4<<30)
	var b bytes.Buffer
	ScaleTable(rep).WriteText(&b)
	WriteGrowth(&b, rep)
	for _, want := range []string{"S/GIB", "1.050", "growth from 1.0 GiB to 4.0 GiB (size x4.0)", "tcp   random 10.0%: time x4.20"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("lacks %q:\n%s", want, b.String())
		}
	}
}

func TestSpread(t *testing.T) {
	rep := sampleReport()
	rep.Results[0].Runs = []float64{1, 1.5}
	rep.Results[1].Runs = []float64{2, 2.2, 2.1}
	rep.Results[2].Runs = []float64{4}
	med, most, n := Spread(rep)
	if n != 2 || most != 0.5 || med < 0.49 || med > 0.51 {
		t.Errorf("Spread = %v, %v, %d", med, most, n)
	}
}

// TestRoundFloorTarget: the 100% target takes the floor measured in the
// tcp result's own round when there is one, and names the run's fastest
// beside it.
func TestRoundFloorTarget(t *testing.T) {
	rep := sampleReport() // the run's tls floor: 1 GiB in 0.5 s; tcp: 1 GiB in 1 s
	for i, r := range rep.Results {
		if r.Tool == "tcp" && r.Changed == 1 {
			rep.Results[i].Net = []NetFloor{{Kind: "tls", Connections: 2, Streams: 2, Bytes: 1 << 30, Seconds: 1.25, Samples: 2}}
		}
	}
	var got Target
	for _, x := range Evaluate(rep) {
		if strings.HasPrefix(x.Name, "tcp at 100%") {
			got = x
		}
	}
	if got.Status != Pass || got.Value < 1.24 || got.Value > 1.26 || !strings.Contains(got.Detail, "fastest of 2 measured in the round") ||
		!strings.Contains(got.Detail, "50% of the run's fastest") {
		t.Errorf("%s: %s %.2f (%s), want PASS 1.25 against the round's floor, 50%% of the run's", got.Name, got.Status, got.Value, got.Detail)
	}
	if strings.Contains(got.Detail, "own records") {
		t.Errorf("names a record floor that was not measured: %s", got.Detail)
	}

	// A faster record floor in the round (the agents' AES-GCM) is named
	// beside it; the target stays crypto/tls's.
	for i, r := range rep.Results {
		if r.Tool == "tcp" && r.Changed == 1 {
			rep.Results[i].Net = append(rep.Results[i].Net, NetFloor{Kind: "rec", Connections: 2, Streams: 2, Bytes: 1 << 30, Seconds: 0.25, Samples: 2})
		}
	}
	for _, x := range Evaluate(rep) {
		if strings.HasPrefix(x.Name, "tcp at 100%") {
			got = x
		}
	}
	if got.Status != Pass || got.Value < 1.24 || got.Value > 1.26 || !strings.Contains(got.Detail, "25% of the agents' own records, rec x2") {
		t.Errorf("%s: %s %.2f (%s), want PASS 1.25 and 25%% of the record floor named", got.Name, got.Status, got.Value, got.Detail)
	}
}

// TestWriteFloorReach: the 100% target's floors count writing the changed
// bytes to the target's disk beside the transfer: a disk slower than the
// goal allows makes the goal out of reach in that run, a fast one leaves
// the network floors' arithmetic as it was.
func TestWriteFloorReach(t *testing.T) {
	for _, c := range []struct {
		write float64
		want  string
	}{{0, "within reach"}, {0.6, "within reach"}, {2.5, "out of reach here"}} {
		rep := sampleReport() // the run's tls floor: 1 GiB in 0.5 s; tcp: 1 GiB in 1 s
		for i, r := range rep.Results {
			if r.Tool == "tcp" && r.Changed == 1 {
				rep.Results[i].ReadSeconds, rep.Results[i].WriteSeconds, rep.Results[i].WriteAfterSeconds = 0.1, c.write, 3*c.write
			}
		}
		var got Target
		for _, x := range Evaluate(rep) {
			if strings.HasPrefix(x.Name, "tcp at 100%") {
				got = x
			}
		}
		// The write after the round is shown, not counted.
		hasWrite := strings.Contains(got.Detail, "writing the changed bytes to the target's disk") &&
			strings.Contains(got.Detail, "after them")
		if !strings.Contains(got.Detail, c.want) || hasWrite != (c.write > 0) {
			t.Errorf("write floor %v s: %s", c.write, got.Detail)
		}
		if want := 0.5 / max(0.6, c.write); math.Abs(got.Floor-want) > 1e-9 {
			t.Errorf("write floor %v s: reach %.3f, want %.3f", c.write, got.Floor, want)
		}
	}
}
