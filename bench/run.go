package bench

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"github.com/pdiffagent/pdiffagent/engine"
)

// A Tool is one way of bringing dst up to date with src.
type Tool struct {
	Name string
	// Sync runs one sync. Stats may be zero for tools that report none.
	Sync func(ctx context.Context, src, dst string) (engine.Stats, error)
}

// Config describes a benchmark run.
type Config struct {
	// Dir receives the source and target files (and must not be tmpfs if
	// disk numbers are wanted).
	Dir  string
	Size int64
	// Changed lists the fractions of blocks to change, one round each.
	Changed   []float64
	BlockSize int
	Pattern   Pattern
	Seed      int64
	// Tools run in every round, in an order that rotates from round to
	// round so that none always runs first.
	Tools []Tool
	// Log, if set, receives one line per step.
	Log func(format string, args ...any)
	// Result, if set, is called with each result as soon as it is known.
	Result func(Result)
}

// Host describes the machine a report comes from.
type Host struct {
	OS   string `json:"os"`
	Arch string `json:"arch"`
	CPUs int    `json:"cpus"`
	Go   string `json:"go"`
}

// Report is everything a run measured.
type Report struct {
	Started   time.Time `json:"started"`
	Host      Host      `json:"host"`
	Dir       string    `json:"dir"`
	Tmpfs     bool      `json:"tmpfs"`
	Size      int64     `json:"size"`
	BlockSize int       `json:"block_size"`
	Pattern   string    `json:"pattern"`
	Results   []Result  `json:"results"`
}

// Result is one tool's sync in one round.
type Result struct {
	Tool          string  `json:"tool"`
	Mode          string  `json:"mode"`    // "local" for now
	Changed       float64 `json:"changed"` // requested fraction of blocks
	Size          int64   `json:"size"`
	BlockSize     int     `json:"block_size"`
	Blocks        int64   `json:"blocks"`
	BlocksMutated int64   `json:"blocks_mutated"` // as Mutate reported
	SyncSeconds   float64 `json:"sync_seconds"`   // wall clock around the tool
	// FloorSeconds is FloorSHA256 of the matching blocks of both copies.
	FloorSeconds float64 `json:"floor_seconds"`
	// Ratio is SyncSeconds over the larger floor: FloorSeconds, or
	// ReadSeconds when few blocks match (at 100% changed nothing needs
	// sha256, but both copies must still be read).
	Ratio       float64 `json:"ratio"`
	ReadSeconds float64 `json:"read_seconds"` // FloorRead of both copies
	// Resident is the smaller page-cache fraction of the two files just
	// before the sync (-1 unknown); Cache says "warm" when it is >= 0.99.
	Resident float64 `json:"resident"`
	Cache    string  `json:"cache"`
	// PeakRSS is getrusage maxrss after the sync: process-wide, so an
	// upper bound that includes the harness.
	PeakRSS  int64        `json:"peak_rss"`
	Verified bool         `json:"verified"` // byte-for-byte Compare
	Stats    engine.Stats `json:"stats"`
}

// Run generates the source once, then runs every round and tool. It stops
// at the first error, including a result that differs from its source.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	if len(cfg.Tools) == 0 {
		return nil, fmt.Errorf("bench: no tools")
	}
	logf := cfg.Log
	if logf == nil {
		logf = func(string, ...any) {}
	}
	rep := &Report{
		Started:   time.Now(),
		Host:      Host{OS: runtime.GOOS, Arch: runtime.GOARCH, CPUs: runtime.NumCPU(), Go: runtime.Version()},
		Dir:       cfg.Dir,
		Tmpfs:     IsTmpfs(cfg.Dir),
		Size:      cfg.Size,
		BlockSize: cfg.BlockSize,
		Pattern:   cfg.Pattern.String(),
	}
	src := filepath.Join(cfg.Dir, "source.img")
	dst := filepath.Join(cfg.Dir, "target.img")
	defer os.Remove(src)
	defer os.Remove(dst)

	logf("generating %s of random data", FormatBytes(cfg.Size))
	if err := GenerateRandom(src, cfg.Size, cfg.Seed); err != nil {
		return rep, err
	}
	for r, changed := range cfg.Changed {
		for i := range cfg.Tools {
			if err := ctx.Err(); err != nil {
				return rep, err
			}
			tool := cfg.Tools[(r+i)%len(cfg.Tools)]
			res, err := round(ctx, cfg, tool, src, dst, changed, cfg.Seed+1+int64(r), logf)
			if err != nil {
				return rep, fmt.Errorf("%s at %.1f%% changed: %w", tool.Name, changed*100, err)
			}
			rep.Results = append(rep.Results, res)
			if cfg.Result != nil {
				cfg.Result(res)
			}
			if !res.Verified {
				return rep, fmt.Errorf("%s at %.1f%% changed: target differs from source after sync", tool.Name, changed*100)
			}
		}
	}
	return rep, nil
}

// round prepares the target, measures the floors and runs one sync.
func round(ctx context.Context, cfg Config, tool Tool, src, dst string, changed float64, seed int64, logf func(string, ...any)) (Result, error) {
	bs := int64(cfg.BlockSize)
	res := Result{Tool: tool.Name, Mode: "local", Changed: changed, Size: cfg.Size,
		BlockSize: cfg.BlockSize, Blocks: (cfg.Size + bs - 1) / bs}
	logf("%s: copying and mutating %.1f%% of the blocks (%s)", tool.Name, changed*100, cfg.Pattern)
	if err := CopyFile(src, dst); err != nil {
		return res, err
	}
	var err error
	if res.BlocksMutated, err = Mutate(dst, cfg.BlockSize, changed, cfg.Pattern, seed); err != nil {
		return res, err
	}
	paths := []string{src, dst}
	if _, err := FloorRead(paths); err != nil { // warm both copies
		return res, err
	}
	read, err := FloorRead(paths)
	if err != nil {
		return res, err
	}
	matching := 0.0
	if res.Blocks > 0 {
		matching = max(0, 1-float64(res.BlocksMutated)/float64(res.Blocks))
	}
	floor, err := FloorSHA256(paths, matching, cfg.BlockSize)
	if err != nil {
		return res, err
	}
	res.ReadSeconds, res.FloorSeconds = read.Seconds(), floor.Seconds()
	res.Resident = residentBoth(paths)
	res.Cache = "cold"
	if res.Resident >= 0.99 {
		res.Cache = "warm"
	} else if res.Resident < 0 {
		res.Cache = "unknown"
	}

	logf("%s: syncing", tool.Name)
	start := time.Now()
	res.Stats, err = tool.Sync(ctx, src, dst)
	res.SyncSeconds = time.Since(start).Seconds()
	res.PeakRSS = PeakRSS()
	if err != nil {
		return res, err
	}
	if floor := max(res.FloorSeconds, res.ReadSeconds); floor > 0 {
		res.Ratio = res.SyncSeconds / floor
	}
	logf("%s: verifying", tool.Name)
	res.Verified, err = Compare(src, dst)
	return res, err
}

func residentBoth(paths []string) float64 {
	low := 1.0
	for _, p := range paths {
		r, err := Resident(p)
		if err != nil || r < 0 {
			return -1
		}
		low = min(low, r)
	}
	return low
}
