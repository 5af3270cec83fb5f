package bench

import (
	"bytes"
	"encoding/xml"
	"io"
	"strings"
	"testing"
)

// svgCounts parses an SVG document fully and counts its elements by name.
func svgCounts(t *testing.T, b []byte) map[string]int {
	t.Helper()
	n := map[string]int{}
	d := xml.NewDecoder(bytes.NewReader(b))
	for {
		tok, err := d.Token()
		if err == io.EOF {
			return n
		}
		if err != nil {
			t.Fatalf("SVG is not well-formed XML: %v\n%s", err, b)
		}
		if se, ok := tok.(xml.StartElement); ok {
			n[se.Name.Local]++
		}
	}
}

func TestChartSVG(t *testing.T) {
	c := Chart{Title: "a <b> & c", XLabel: "changed", YLabel: "seconds", Series: []Series{
		{Name: "tcp", Points: []Point{{10, 0.3}, {55, 0.6}, {100, 1.2}}},
		{Name: "rsync \"quoted\"", Points: []Point{{10, 2}, {100, 12}}},
		{Name: "floor", Dashed: true, Points: []Point{{10, 0.04}, {50, 1e-7}, {100, 0}}}, // too small, 0: dropped
	}}
	var b bytes.Buffer
	if err := c.WriteSVG(&b); err != nil {
		t.Fatal(err)
	}
	n := svgCounts(t, b.Bytes())
	if n["svg"] != 1 || n["polyline"] != 3 || n["circle"] != 6 { // 3 + 2 + 1
		t.Errorf("elements %v", n)
	}
	s := b.String()
	for _, want := range []string{"a &lt;b&gt; &amp; c", "stroke-dasharray", "0.01 s", "100 s", "100%"} {
		if !strings.Contains(s, want) {
			t.Errorf("SVG lacks %q", want)
		}
	}
}

func TestChartEmpty(t *testing.T) {
	var b bytes.Buffer
	if err := (Chart{Title: "none"}).WriteSVG(&b); err != nil {
		t.Fatal(err)
	}
	svgCounts(t, b.Bytes())
}

func TestLogTicks(t *testing.T) {
	got := logTicks(0.1, 10)
	want := []float64{0.1, 0.2, 0.5, 1, 2, 5, 10}
	if len(got) != len(want) {
		t.Fatalf("ticks %v, want %v", got, want)
	}
	for i := range got {
		if d := got[i] - want[i]; d > 1e-9 || d < -1e-9 {
			t.Fatalf("ticks %v, want %v", got, want)
		}
	}
}

func TestChartFromReport(t *testing.T) {
	rep := sampleReport()
	var b bytes.Buffer
	if err := ChartFromReport(rep).WriteSVG(&b); err != nil {
		t.Fatal(err)
	}
	n := svgCounts(t, b.Bytes())
	// tcp, rsync, sha256 floor, read floor, tls floor.
	if n["polyline"] != 5 {
		t.Errorf("%d lines, want 5:\n%s", n["polyline"], b.String())
	}
	if !strings.Contains(b.String(), "rsync --inplace --no-whole-file") {
		t.Error("rsync line not named")
	}
}
