package bench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/pdiffagent/pdiffagent/engine"
	"github.com/pdiffagent/pdiffagent/sysio/sysiotest/treediff"
)

// ErrUnsupported is what a tool's Sync wraps when the tool cannot do what
// the case asks on this build (pdiffagent push of a directory before
// trees existed): RunTree records the tool as skipped, with the reason.
var ErrUnsupported = errors.New("not supported")

// TreeConfig describes the tree case. Its tools' Sync take directories:
// they bring the target tree up to date with the source tree.
type TreeConfig struct {
	Dir       string // source/ and target/ are made here
	Spec      TreeSpec
	BlockSize int    // of the large files' mutation
	Hash      string // the tools' tier-2 hash (-m; "" is sha256): the floor's
	Repeat    int    // runs per tool (0 means 1); the fastest is reported
	Tools     []Tool
	Log       func(format string, args ...any)
	// Keep leaves the trees in Dir when done, and reuses those a run with
	// the same Spec left there (a run ends with the target equal to the
	// source): a large tree is generated once for many runs.
	Keep bool
}

// Tree runs: the sync after MutateTree, and a rerun with nothing changed.
const (
	TreeChanged   = "changed"
	TreeUnchanged = "unchanged"
)

// TreeReport is what the tree case measured.
type TreeReport struct {
	Spec    TreeSpec          `json:"spec"`
	Files   int               `json:"files"`
	Bytes   int64             `json:"bytes"`
	Skipped map[string]string `json:"skipped,omitempty"`
	Results []TreeResult      `json:"results"`
	Seconds float64           `json:"seconds"`
	// FloorSeconds is the strong hash (sha256, or Hash) a verified push of the changed tree
	// cannot skip, on all cores (best of two): every block of the large
	// files on the side whose copy changed (its records are stale, so it
	// confirms each block, and refinement each sub-block, that matches)
	// and the changed blocks of the other side's (records hold whole
	// blocks: a refined block's sub-blocks are hashed to be confirmed).
	FloorSeconds float64 `json:"sha256_floor_seconds"` // of Hash's strong hash (the name is older)
	Hash         string  `json:"hash,omitempty"`       // the tools' tier-2 hash (-m); "" is sha256
}

// TreeResult is a tool's best run of one kind.
type TreeResult struct {
	Tool           string    `json:"tool"`
	Run            string    `json:"run"` // TreeChanged or TreeUnchanged
	FilesRewritten int       `json:"files_rewritten"`
	BlocksChanged  int64     `json:"blocks_changed"` // of the large files
	ChangedBytes   int64     `json:"changed_bytes"`
	SyncSeconds    float64   `json:"sync_seconds"` // the client's wall clock, start-up included
	Runs           []float64 `json:"runs"`
	// FlushSeconds is an fsync of the files the mutation touched after the
	// tool ended, not counted in SyncSeconds (rsync does not fsync).
	FlushSeconds float64      `json:"flush_seconds"`
	Resident     float64      `json:"resident"` // smallest page-cache fraction of any file, -1 unknown
	Cache        string       `json:"cache"`
	ClientRSS    int64        `json:"client_peak_rss"`
	ServerRSS    int64        `json:"server_peak_rss"`
	ClientCPU    float64      `json:"client_cpu_seconds"`
	ServerCPU    float64      `json:"server_cpu_seconds"`
	Verified     bool         `json:"verified"` // treediff.Diff found nothing
	Stats        engine.Stats `json:"stats"`
}

// RunTree generates the source tree and a copy, then for each repetition
// runs every tool (in an order that rotates) on the copy mutated again
// with the same seed (every tool sees the same target), verifies the
// result against the source (bytes, modes, mtimes: treediff.Diff),
// and runs it again with nothing changed. It stops at the first error or
// difference; a tool whose Sync says ErrUnsupported is skipped.
func RunTree(ctx context.Context, cfg TreeConfig) (*TreeReport, error) {
	if cfg.Log == nil {
		cfg.Log = func(string, ...any) {}
	}
	start := time.Now()
	rep := &TreeReport{Spec: cfg.Spec, Hash: cfg.Hash, Skipped: map[string]string{}}
	defer func() { rep.Seconds = time.Since(start).Seconds() }()
	src, dst := filepath.Join(cfg.Dir, "source"), filepath.Join(cfg.Dir, "target")
	if !cfg.Keep {
		defer os.RemoveAll(src)
		defer os.RemoveAll(dst)
	}
	tf, err := treeData(cfg, src, dst)
	if err != nil {
		return rep, err
	}
	rep.Files, rep.Bytes = len(tf.Small)+len(tf.Large), tf.Bytes
	// Write back what generating the trees left dirty (gigabytes at full
	// size): a push that makes block-hash records syncs the filesystem
	// before it commits them (engine/tree, records.go), and the first one
	// paid 1-2 s here for the generator's writes.
	syscall.Sync()
	if rep.FloorSeconds, err = treeFloor(cfg, tf, src, dst); err != nil {
		return rep, err
	}
	var tools []Tool
	for _, t := range cfg.Tools {
		if t.Skip != "" {
			rep.Skipped[t.Name] = t.Skip
		} else {
			tools = append(tools, t)
		}
	}
	// A tool's Prepare runs once, untimed, on the identical trees: the
	// state every timed run starts from, which is what an operator's
	// sync after the first finds (the tcp push's block-hash records,
	// made by a push that compares every file). Then no timed run is a
	// first-ever push, and each of Repeat runs counts.
	for _, tool := range tools {
		if tool.Prepare == nil {
			continue
		}
		cfg.Log("tree: %s: preparing (untimed)", tool.Name)
		if err := tool.Prepare(ctx, src, dst); errors.Is(err, ErrUnsupported) {
			rep.Skipped[tool.Name] = err.Error()
		} else if err != nil {
			return rep, fmt.Errorf("tree: %s: preparing: %w", tool.Name, err)
		}
	}
	best := map[string]TreeResult{}
	for k := range max(cfg.Repeat, 1) {
		for _, tool := range rotate(tools, k) {
			if _, skipped := rep.Skipped[tool.Name]; skipped {
				continue
			}
			if err := ctx.Err(); err != nil {
				return rep, err
			}
			changed, unchanged, err := treeRuns(ctx, cfg, tool, tf, src, dst)
			if errors.Is(err, ErrUnsupported) {
				rep.Skipped[tool.Name] = err.Error()
				cfg.Log("tree: %s: skipped: %v", tool.Name, err)
				continue
			}
			if err != nil {
				return rep, fmt.Errorf("tree: %s: %w", tool.Name, err)
			}
			for _, r := range []TreeResult{changed, unchanged} {
				key := r.Tool + "/" + r.Run
				r.Runs = []float64{r.SyncSeconds}
				if b, ok := best[key]; ok {
					runs := append(b.Runs, r.SyncSeconds)
					if b.SyncSeconds <= r.SyncSeconds {
						r = b
					}
					r.Runs = runs
				}
				best[key] = r
			}
		}
	}
	for _, run := range []string{TreeChanged, TreeUnchanged} {
		for _, t := range tools {
			if r, ok := best[t.Name+"/"+run]; ok {
				rep.Results = append(rep.Results, r)
			}
		}
	}
	return rep, nil
}

// treeRuns mutates the target, syncs it, verifies it, and syncs it again.
func treeRuns(ctx context.Context, cfg TreeConfig, tool Tool, tf TreeFiles, src, dst string) (changed, unchanged TreeResult, err error) {
	cfg.Log("tree: %s: mutating the target", tool.Name)
	m, err := MutateTree(dst, tf, cfg.Spec, cfg.BlockSize, cfg.Spec.Seed+1)
	if err != nil {
		return changed, unchanged, err
	}
	touched := append(m.Rewritten, tf.Large...)
	if err := flushFiles(dst, touched); err != nil {
		return changed, unchanged, err
	}
	changed = TreeResult{Tool: tool.Name, Run: TreeChanged, FilesRewritten: len(m.Rewritten),
		BlocksChanged: m.BlocksChanged, ChangedBytes: m.Bytes}
	if err := treeSync(ctx, cfg, tool, tf, src, dst, touched, &changed); err != nil {
		return changed, unchanged, err
	}
	unchanged = TreeResult{Tool: tool.Name, Run: TreeUnchanged}
	err = treeSync(ctx, cfg, tool, tf, src, dst, touched, &unchanged)
	return changed, unchanged, err
}

// treeSync warms both trees, runs the tool once, flushes what it may
// have left dirty and verifies the target.
func treeSync(ctx context.Context, cfg TreeConfig, tool Tool, tf TreeFiles, src, dst string, touched []string, res *TreeResult) error {
	var paths []string
	for _, rel := range tf.All() {
		paths = append(paths, filepath.Join(src, rel), filepath.Join(dst, rel))
	}
	if _, err := FloorRead(paths); err != nil {
		return err
	}
	res.Resident = residentBoth(paths)
	res.Cache = cacheState(res.Resident)
	cfg.Log("tree: %s: syncing (%s)", tool.Name, res.Run)
	begin := time.Now()
	out, err := tool.Sync(ctx, src, dst)
	wall := time.Since(begin).Seconds()
	if err != nil {
		return err
	}
	res.SyncSeconds = out.Seconds // the client's own, without a daemon's start and stop
	if res.SyncSeconds <= 0 {
		res.SyncSeconds = wall
	}
	res.Stats, res.ClientRSS, res.ServerRSS = out.Stats, out.ClientRSS, out.ServerRSS
	res.ClientCPU, res.ServerCPU = out.ClientCPU, out.ServerCPU
	begin = time.Now()
	if err := flushFiles(dst, touched); err != nil {
		return err
	}
	res.FlushSeconds = time.Since(begin).Seconds()
	diffs, err := treediff.Diff(src, dst, treediff.Options{})
	if err != nil {
		return err
	}
	if len(diffs) > 0 {
		return fmt.Errorf("%s run: the target tree differs from the source (%d differences): %s",
			res.Run, len(diffs), strings.Join(diffs[:min(len(diffs), 5)], "; "))
	}
	res.Verified = true
	return nil
}

// treeFloor measures TreeReport.FloorSeconds: sha256 of the whole of
// the target's large files and of LargeChanged of the source's.
func treeFloor(cfg TreeConfig, tf TreeFiles, src, dst string) (float64, error) {
	if len(tf.Large) == 0 || cfg.BlockSize <= 0 {
		return 0, nil
	}
	var s, d []string
	for _, rel := range tf.Large {
		s, d = append(s, filepath.Join(src, rel)), append(d, filepath.Join(dst, rel))
	}
	best := 0.0
	for range 2 {
		if _, err := FloorRead(append(slices.Clone(s), d...)); err != nil {
			return 0, err
		}
		a, err := FloorStrong(d, 1, cfg.BlockSize, cfg.Hash)
		if err != nil {
			return 0, err
		}
		b, err := FloorStrong(s, cfg.Spec.LargeChanged, cfg.BlockSize, cfg.Hash)
		if err != nil {
			return 0, err
		}
		best = minPositive(best, (a + b).Seconds())
	}
	cfg.Log("tree: %s floor %s", FloorName(cfg.Hash), secs(best))
	return best, nil
}

// flushFiles writes back the dirty pages of dir's files rels.
func flushFiles(dir string, rels []string) error {
	for _, rel := range rels {
		if err := Flush(filepath.Join(dir, rel)); err != nil {
			return err
		}
	}
	return nil
}

// treeData generates the source tree and its copy, or with Keep reuses
// those a run with the same spec left (kept.json says which).
func treeData(cfg TreeConfig, src, dst string) (TreeFiles, error) {
	type kept struct {
		Spec  TreeSpec
		Files TreeFiles
	}
	mark := filepath.Join(cfg.Dir, "kept.json")
	if cfg.Keep {
		var k kept
		if b, err := os.ReadFile(mark); err == nil && json.Unmarshal(b, &k) == nil && k.Spec == cfg.Spec {
			if diffs, err := treediff.Diff(src, dst, treediff.Options{}); err == nil && len(diffs) == 0 {
				cfg.Log("tree: reusing the trees in %s", cfg.Dir)
				return k.Files, nil
			}
		}
		os.Remove(mark)
		os.RemoveAll(src)
		os.RemoveAll(dst)
	}
	cfg.Log("tree: generating %d files and %d of %s (%s) and a copy", cfg.Spec.Files, cfg.Spec.Large,
		FormatBytes(cfg.Spec.LargeSize), FormatBytes(cfg.Spec.Bytes()))
	tf, err := GenerateTree(src, cfg.Spec)
	if err != nil {
		return tf, err
	}
	if err := CopyTree(src, dst); err != nil {
		return tf, err
	}
	if cfg.Keep {
		b, err := json.Marshal(kept{cfg.Spec, tf})
		if err != nil {
			return tf, err
		}
		if err := os.WriteFile(mark, b, 0o644); err != nil {
			return tf, err
		}
	}
	return tf, nil
}
