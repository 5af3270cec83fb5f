package bench

import (
	"encoding/json"
	"fmt"
	"io"
)

const rowFormat = "%-11s %8s %9s %11s %8s %8s %6s %8s %-6s %9s %10s\n"

// WriteTableHeader writes the column titles of WriteTableRow.
func WriteTableHeader(w io.Writer) error {
	_, err := fmt.Fprintf(w, rowFormat, "TOOL", "CHANGED", "SIZE", "BLOCKS", "SYNC", "FLOOR",
		"RATIO", "READ", "CACHE", "PEAK RSS", "WRITTEN")
	return err
}

// WriteTableRow writes one result as a table row: FLOOR is the sha256 floor,
// READ the page-cache read of both copies, RATIO is SYNC over the larger of
// the two.
func WriteTableRow(w io.Writer, r Result) error {
	_, err := fmt.Fprintf(w, rowFormat, r.Tool,
		fmt.Sprintf("%.1f%%", r.Changed*100),
		FormatBytes(r.Size),
		fmt.Sprintf("%d/%d", r.BlocksMutated, r.Blocks),
		fmt.Sprintf("%.2fs", r.SyncSeconds),
		fmt.Sprintf("%.2fs", r.FloorSeconds),
		fmt.Sprintf("%.2f", r.Ratio),
		fmt.Sprintf("%.2fs", r.ReadSeconds),
		r.Cache,
		FormatBytes(r.PeakRSS),
		FormatBytes(r.Stats.BytesWritten))
	return err
}

// WriteJSON writes the report as one indented JSON object.
func WriteJSON(w io.Writer, rep *Report) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(rep)
}

// FormatBytes renders n in binary units: "512 B", "1.5 KiB", "2.0 GiB".
func FormatBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit && exp < 5; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
