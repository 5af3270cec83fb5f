package bench

import (
	"bytes"
	"cmp"
	"encoding/xml"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
)

// Point is one (x, y) of a Series.
type Point struct{ X, Y float64 }

// Series is one line of a Chart.
type Series struct {
	Name   string
	Dashed bool // floors are dashed, tools solid
	Points []Point
}

// Chart is a line chart with a linear x axis (0 to 100) and a logarithmic
// y axis, written as plain SVG.
type Chart struct {
	Title, Subtitle string
	XLabel, YLabel  string
	Series          []Series
}

// Chart geometry, in SVG user units.
const (
	svgW, svgH         = 1020, 540
	plotL, plotT       = 80, 64
	plotR, plotB       = 730, 480
	legendX, legendRow = 750, 22
)

var palette = []string{"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#17becf", "#bcbd22"}

// maxDecades bounds the y axis: points more than that many decades below
// the highest are left out, like points with y <= 0 (a log axis has no
// room for them).
const maxDecades = 4

// WriteSVG draws the chart.
func (c Chart) WriteSVG(w io.Writer) error {
	lo, hi := c.yRange()
	x := func(v float64) float64 { return plotL + (plotR-plotL)*v/100 }
	y := func(v float64) float64 {
		return plotB - (plotB-plotT)*(math.Log10(v)-math.Log10(lo))/(math.Log10(hi)-math.Log10(lo))
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="13">`+"\n", svgW, svgH, svgW, svgH)
	fmt.Fprintf(&b, `<rect width="%d" height="%d" fill="white"/>`+"\n", svgW, svgH)
	text(&b, plotL, 24, "start", 16, c.Title)
	text(&b, plotL, 44, "start", 12, c.Subtitle)
	// Grid and ticks.
	for v := 0; v <= 100; v += 10 {
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#e5e5e5"/>`+"\n", x(float64(v)), plotT, x(float64(v)), plotB)
		text(&b, x(float64(v)), plotB+18, "middle", 12, fmt.Sprintf("%d%%", v))
	}
	for _, v := range logTicks(lo, hi) {
		major := isPow10(v)
		stroke := "#f0f0f0"
		if major {
			stroke = "#d0d0d0"
		}
		fmt.Fprintf(&b, `<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="%s"/>`+"\n", plotL, y(v), plotR, y(v), stroke)
		if major || (hi/lo) < 1000 {
			text(&b, plotL-6, y(v)+4, "end", 12, fmtSeconds(v))
		}
	}
	fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%d" height="%d" fill="none" stroke="#333"/>`+"\n", plotL, plotT, plotR-plotL, plotB-plotT)
	text(&b, (plotL+plotR)/2, plotB+42, "middle", 13, c.XLabel)
	fmt.Fprintf(&b, `<text x="20" y="%d" text-anchor="middle" font-size="13" transform="rotate(-90 20 %d)">%s</text>`+"\n",
		(plotT+plotB)/2, (plotT+plotB)/2, esc(c.YLabel))
	// Lines and legend.
	for i, s := range c.Series {
		color := palette[i%len(palette)]
		dash, width := "", 2.5
		if s.Dashed {
			dash, width = ` stroke-dasharray="6 4"`, 1.5
		}
		var pts []string
		for _, p := range s.Points {
			if p.Y >= lo {
				pts = append(pts, fmt.Sprintf("%.1f,%.1f", x(p.X), y(p.Y)))
			}
		}
		fmt.Fprintf(&b, `<polyline fill="none" stroke="%s" stroke-width="%.1f"%s points="%s"><title>%s</title></polyline>`+"\n",
			color, width, dash, strings.Join(pts, " "), esc(s.Name))
		for _, p := range pts {
			cx, cy, _ := strings.Cut(p, ",")
			fmt.Fprintf(&b, `<circle cx="%s" cy="%s" r="3" fill="%s"/>`+"\n", cx, cy, color)
		}
		ly := plotT + 8 + i*legendRow
		fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="%s" stroke-width="%.1f"%s/>`+"\n",
			legendX, ly, legendX+28, ly, color, width, dash)
		text(&b, legendX+36, float64(ly+4), "start", 12, s.Name)
	}
	b.WriteString("</svg>\n")
	_, err := w.Write(b.Bytes())
	return err
}

// yRange is the decades around every positive y, at most maxDecades.
func (c Chart) yRange() (lo, hi float64) {
	hi = math.Inf(-1)
	for _, s := range c.Series {
		for _, p := range s.Points {
			hi = max(hi, p.Y)
		}
	}
	if hi <= 0 {
		return 0.1, 10
	}
	hi = math.Pow(10, math.Ceil(math.Log10(hi)))
	lo = hi
	for _, s := range c.Series {
		for _, p := range s.Points {
			if p.Y > 0 {
				lo = min(lo, p.Y)
			}
		}
	}
	lo = max(math.Pow(10, math.Floor(math.Log10(lo))), hi/math.Pow(10, maxDecades))
	if hi <= lo {
		hi = lo * 10
	}
	return lo, hi
}

// logTicks are 1, 2 and 5 times every power of ten from lo to hi.
func logTicks(lo, hi float64) []float64 {
	var out []float64
	for d := lo; d <= hi*1.001; d *= 10 {
		for _, m := range []float64{1, 2, 5} {
			if v := d * m; v <= hi*1.001 {
				out = append(out, v)
			}
		}
	}
	return out
}

func isPow10(v float64) bool {
	l := math.Log10(v)
	return math.Abs(l-math.Round(l)) < 1e-9
}

func fmtSeconds(v float64) string {
	return strings.TrimSuffix(strings.TrimRight(fmt.Sprintf("%.4f", v), "0"), ".") + " s"
}

func text(b *bytes.Buffer, x, y float64, anchor string, size int, s string) {
	fmt.Fprintf(b, `<text x="%.1f" y="%.1f" text-anchor="%s" font-size="%d">%s</text>`+"\n", x, y, anchor, size, esc(s))
}

func esc(s string) string {
	var b bytes.Buffer
	xml.EscapeText(&b, []byte(s))
	return b.String()
}

// ChartFromReport draws the largest size's rounds of the first fractional
// pattern: each tool's time against the changed fraction, and every floor
// (the network floors as the time to send the round's changed bytes).
func ChartFromReport(rep *Report) Chart {
	size := slices.Max(append([]int64{0}, rep.Sizes...))
	pattern := ""
	for _, p := range rep.Patterns {
		if p != Insert.String() && p != Inserts.String() {
			pattern = p
			break
		}
	}
	cache := map[string]bool{}
	series := map[string]*Series{}
	var order []string
	add := func(name string, dashed bool, x, y float64) {
		s, ok := series[name]
		if !ok {
			s = &Series{Name: name, Dashed: dashed}
			series[name] = s
			order = append(order, name)
		}
		s.Points = append(s.Points, Point{x, y})
	}
	for _, name := range rep.tools() {
		for _, r := range rep.Results {
			if r.Tool == name && r.Size == size && r.Pattern == pattern {
				add("pdiffagent "+name, false, r.Changed*100, r.SyncSeconds)
				cache[r.Cache] = true
			}
		}
	}
	for _, rd := range rep.rounds() {
		if rd.size != size || rd.pattern != pattern {
			continue
		}
		x := rd.changed * 100
		add("floor: sha256 of matching blocks", true, x, rd.first.FloorSeconds)
		add("floor: page-cache read", true, x, rd.first.ReadSeconds)
		for _, f := range rep.Net {
			add("floor: "+f.Label()+" ("+rate(f.BytesPerSecond())+")", true, x, f.TimeFor(rd.first.ChangedBytes()))
		}
	}
	c := Chart{
		Title:    fmt.Sprintf("pdiffagent bench: %s, %s changes, %s cache", FormatBytes(size), pattern, cacheSummary(cache)),
		Subtitle: fmt.Sprintf("%s; both ends on this machine, loopback", rep.Machine.String()),
		XLabel:   "blocks changed", YLabel: "seconds (log scale)",
	}
	for _, name := range order {
		s := *series[name]
		if s.Name == "pdiffagent rsync" {
			s.Name = "rsync --inplace --no-whole-file"
		}
		slices.SortFunc(s.Points, func(a, b Point) int { return cmp.Compare(a.X, b.X) })
		c.Series = append(c.Series, s)
	}
	return c
}
