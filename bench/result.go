package bench

import (
	"fmt"
	"time"

	"github.com/pdiffagent/pdiffagent/engine"
)

// Report is everything a run measured.
type Report struct {
	Started   time.Time `json:"started"`
	Machine   Machine   `json:"machine"`
	Dir       string    `json:"dir"`
	Sizes     []int64   `json:"sizes"`
	BlockSize int       `json:"block_size"`
	Patterns  []string  `json:"patterns"`
	Cold      bool      `json:"cold"`
	ReadPath  string    `json:"read_path,omitempty"` // how pdiffagent read the files, as its flags said
	Hash      string    `json:"hash,omitempty"`      // pdiffagent's tier-2 hash (-m); "" is sha256
	Repeat    int       `json:"repeat"`              // runs per tool and round; the fastest is reported
	// Skipped maps a tool that did not run to the reason.
	Skipped map[string]string `json:"skipped,omitempty"`
	Net     []NetFloor        `json:"net_floors,omitempty"`
	Results []Result          `json:"results"`
	// Tree is the tree case's (issue 16), when it ran.
	Tree *TreeReport `json:"tree,omitempty"`
	// Targets is Evaluate's verdict, filled in by the caller.
	Targets []Target `json:"targets,omitempty"`
	Seconds float64  `json:"seconds"` // the whole run
	Load    Load     `json:"load"`    // other work on the machine meanwhile
	// Error and ErrorCode, filled in by the caller, say why a run that
	// produced this report failed (the --json contract: a failure's one
	// object has both).
	Error     string `json:"error,omitempty"`
	ErrorCode string `json:"error_code,omitempty"`
}

// Result is one tool's sync in one round.
type Result struct {
	Tool          string  `json:"tool"`
	Pattern       string  `json:"pattern"`
	Changed       float64 `json:"changed"`            // requested fraction of blocks (of pages for the pages pattern)
	Pages         int64   `json:"pages,omitempty"`    // pages rewritten (pages pattern)
	Inserted      int64   `json:"inserted,omitempty"` // bytes inserted (insert pattern)
	Size          int64   `json:"size"`
	BlockSize     int     `json:"block_size"`
	Blocks        int64   `json:"blocks"`
	BlocksMutated int64   `json:"blocks_mutated"` // as Mutate reported
	SyncSeconds   float64 `json:"sync_seconds"`   // the tool's time (Outcome.Seconds) or the wall clock
	// Runs are the SyncSeconds of every repetition; SyncSeconds is the
	// fastest, and the peak RSS the largest.
	Runs        []float64 `json:"runs"`
	WallSeconds float64   `json:"wall_seconds"` // wall clock around the tool, start-up included
	// FlushSeconds is an fdatasync of the target after the tool ended, not
	// counted in SyncSeconds: about 0 for pdiffagent, which fsyncs before
	// it reports success, the write-back of its data for rsync.
	FlushSeconds float64 `json:"flush_seconds"`
	// FloorSeconds is FloorStrong of the matching blocks of both copies,
	// with the run's hash.
	FloorSeconds float64 `json:"floor_seconds"`
	// Ratio is SyncSeconds over the larger floor: FloorSeconds, or
	// ReadSeconds when few blocks match (at 100% changed nothing needs
	// sha256, but both copies must still be read).
	Ratio       float64 `json:"ratio"`
	ReadSeconds float64 `json:"read_seconds"` // FloorRead of both copies, warm
	// WriteSeconds is FloorWrite of the changed blocks' bytes beside the
	// target, before the first sync of each of the round's repetitions
	// (the fastest counts), as the read and sha256 floors: what a sync must at
	// least do to the target's disk.
	WriteSeconds float64 `json:"write_floor_seconds,omitempty"`
	// WriteAfterSeconds is the same write once the round's syncs are done
	// (they wrote to the same disk meanwhile): shown beside the floor, not
	// counted in it.
	WriteAfterSeconds float64 `json:"write_after_seconds,omitempty"`
	// Net are the network floors measured in this result's round, before
	// each of its repetitions (the fastest of each kind): the same number
	// of samples as the tool's runs, taken among them. Report.Net keeps
	// the fastest of the whole run.
	Net []NetFloor `json:"round_net_floors,omitempty"`
	// Resident is the smaller page-cache fraction of the two files just
	// before the sync (-1 unknown); Cache says "warm" when it is >= 0.99,
	// "cold" when it is <= 0.01, else "partial".
	Resident  float64      `json:"resident"`
	Cache     string       `json:"cache"`
	ClientRSS int64        `json:"client_peak_rss"`
	ServerRSS int64        `json:"server_peak_rss"`
	ClientCPU float64      `json:"client_cpu_seconds"`
	ServerCPU float64      `json:"server_cpu_seconds"`
	Verified  bool         `json:"verified"` // byte-for-byte Compare
	Stats     engine.Stats `json:"stats"`
}

// ChangedBytes is the size of the changed blocks: the data a block-level
// delta must move; for the pages pattern, the rewritten pages.
func (r Result) ChangedBytes() int64 {
	if r.Pattern == Pages.String() {
		return r.Pages * PageLen
	}
	ins := r.Inserted
	if r.Pattern == Insert.String() && ins == 0 {
		ins = InsertLen // a report from before InsertLens
	}
	return min(r.BlocksMutated*int64(r.BlockSize), r.Size+max(ins, InsertsCount*InsertsLen))
}

// Delta names the round's change: "12.5%", or "100 pages".
func (r Result) Delta() string {
	if r.Pattern == Pages.String() {
		return fmt.Sprintf("%d pages", r.Pages)
	}
	if r.Pattern == Insert.String() && r.Inserted > 0 {
		return insertDelta(r.Inserted)
	}
	return pct(r.Changed)
}

// insertDelta names an insert round: "4 KiB in" (bytes inserted).
func insertDelta(n int64) string { return FormatBytes(n) + " in" }
