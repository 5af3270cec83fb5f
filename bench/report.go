package bench

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
)

const detailFormat = "%-6s %-7s %9s %10s %8s %11s %7s %10s %10s %10s %10s %9s %s\n"

// WriteDetailHeader writes the column titles of WriteDetailRow.
func WriteDetailHeader(w io.Writer) error {
	_, err := fmt.Fprintf(w, detailFormat, "TOOL", "PATTERN", "CHANGED", "SIZE", "SYNC", "RATE",
		"FLUSH", "SENT", "WIRE", "CLIENT RSS", "SERVER RSS", "CPU S/GB", "CACHE")
	return err
}

// WriteDetailRow writes one sync as it finishes: RATE is the source size
// over the sync's time, FLUSH the fsync of the target after it (not in
// SYNC), SENT the block payload that crossed the link (rsync's literal
// data), WIRE everything sent and received (bytes_wire; rsync's total
// bytes sent and received), the RSS columns the peak resident set of each
// end.
func WriteDetailRow(w io.Writer, r Result) error {
	_, err := fmt.Fprintf(w, detailFormat, r.Tool, r.Pattern, r.Delta(), FormatBytes(r.Size),
		secs(r.SyncSeconds), rate(float64(r.Size)/r.SyncSeconds), secs(r.FlushSeconds), wireBytes(r.Stats.BytesSent),
		wireBytes(r.Stats.BytesWire), rss(r.ClientRSS), rss(r.ServerRSS), cpuPerGB(r), r.Cache)
	return err
}

// wireBytes renders a byte count that may be unknown (0 with a tool that
// reports none).
func wireBytes(n int64) string {
	if n <= 0 {
		return "-"
	}
	return FormatBytes(n)
}

// cpuPerGB is the CPU seconds of both ends per GB (1e9 bytes) of source.
func cpuPerGB(r Result) string {
	if r.ClientCPU+r.ServerCPU <= 0 || r.Size <= 0 {
		return "-"
	}
	return fmt.Sprintf("%.2f", (r.ClientCPU+r.ServerCPU)/(float64(r.Size)/1e9))
}

// WriteJSON writes the report as one indented JSON object.
func WriteJSON(w io.Writer, rep *Report) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(rep)
}

// csvHeader names the columns of WriteCSV.
var csvHeader = []string{"tool", "pattern", "changed", "size", "block_size", "blocks", "blocks_mutated",
	"changed_bytes", "sync_seconds", "wall_seconds", "flush_seconds", "sha256_floor_seconds", "read_floor_seconds",
	"ratio", "cache", "resident", "client_peak_rss", "server_peak_rss", "client_cpu_seconds", "server_cpu_seconds", "bytes_sent", "bytes_written", "verified", "pages", "bytes_wire", "inserted"}

// WriteCSV writes one row per sync, with a header.
func WriteCSV(w io.Writer, rep *Report) error {
	cw := csv.NewWriter(w)
	cw.Write(csvHeader)
	f := func(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }
	i := func(v int64) string { return strconv.FormatInt(v, 10) }
	for _, r := range rep.Results {
		cw.Write([]string{r.Tool, r.Pattern, f(r.Changed), i(r.Size), i(int64(r.BlockSize)), i(r.Blocks),
			i(r.BlocksMutated), i(r.ChangedBytes()), f(r.SyncSeconds), f(r.WallSeconds), f(r.FlushSeconds), f(r.FloorSeconds),
			f(r.ReadSeconds), f(r.Ratio), r.Cache, f(r.Resident), i(r.ClientRSS), i(r.ServerRSS), f(r.ClientCPU), f(r.ServerCPU),
			i(r.Stats.BytesSent), i(r.Stats.BytesWritten), strconv.FormatBool(r.Verified), i(r.Pages), i(r.Stats.BytesWire), i(r.Inserted)})
	}
	cw.Flush()
	return cw.Error()
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
