package bench

import (
	"fmt"
	"io"
	"strings"
)

// Table is rows of cells with a header, written aligned for a terminal or
// as Markdown for the README.
type Table struct {
	Header []string
	Rows   [][]string
	// Left is how many leading columns are left-aligned; the rest, numbers,
	// are right-aligned.
	Left int
}

// Add appends a row.
func (t *Table) Add(cells ...string) { t.Rows = append(t.Rows, cells) }

// WriteText writes the table with columns padded to their widest cell and
// separated by two spaces.
func (t *Table) WriteText(w io.Writer) error {
	width := make([]int, len(t.Header))
	for _, r := range append([][]string{t.Header}, t.Rows...) {
		for i, c := range r {
			if i < len(width) {
				width[i] = max(width[i], len([]rune(c)))
			}
		}
	}
	var b strings.Builder
	for _, r := range append([][]string{t.Header}, t.Rows...) {
		for i := range width {
			c := ""
			if i < len(r) {
				c = r[i]
			}
			pad := strings.Repeat(" ", width[i]-len([]rune(c)))
			if i > 0 {
				b.WriteString("  ")
			}
			if i < t.Left {
				b.WriteString(c)
				if i < len(width)-1 {
					b.WriteString(pad)
				}
			} else {
				b.WriteString(pad + c)
			}
		}
		b.WriteString("\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// WriteMarkdown writes the table as a GitHub Markdown table.
func (t *Table) WriteMarkdown(w io.Writer) error {
	var b strings.Builder
	row := func(cells []string) {
		b.WriteString("|")
		for i := range t.Header {
			c := ""
			if i < len(cells) {
				c = strings.ReplaceAll(cells[i], "|", `\|`)
			}
			fmt.Fprintf(&b, " %s |", c)
		}
		b.WriteString("\n")
	}
	row(t.Header)
	b.WriteString("|")
	for i := range t.Header {
		if i < t.Left {
			b.WriteString("---|")
		} else {
			b.WriteString("--:|")
		}
	}
	b.WriteString("\n")
	for _, r := range t.Rows {
		row(r)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// secs renders a duration in seconds with two decimals, or "-".
func secs(s float64) string {
	if s <= 0 {
		return "-"
	}
	if s < 0.01 {
		return fmt.Sprintf("%.3fs", s)
	}
	return fmt.Sprintf("%.2fs", s)
}

// rate renders bytes per second in decimal GB/s, as DESIGN.md does.
func rate(bps float64) string {
	if bps <= 0 {
		return "-"
	}
	return fmt.Sprintf("%.2f GB/s", bps/1e9)
}

// pct renders a fraction as a percentage.
func pct(f float64) string { return fmt.Sprintf("%.1f%%", f*100) }

// rss renders a peak RSS, or "-" when it was not measured.
func rss(n int64) string {
	if n <= 0 {
		return "-"
	}
	return FormatBytes(n)
}
