package bench

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/pdiffagent/pdiffagent/engine"
)

// A Tool is one way of bringing dst up to date with src.
type Tool struct {
	// Name is the tool's column: "local", "tcp", "quic", "rsync".
	Name string
	// Skip, when set, says why the tool cannot run here; Run records it in
	// Report.Skipped instead of running the tool.
	Skip string
	// Sync runs one sync.
	Sync func(ctx context.Context, src, dst string) (Outcome, error)
	// Prepare, if set, runs before each Sync, once the round's change is
	// made and before the files are warmed or evicted, and is not timed:
	// the state a tool measures from that the bench's mutation does not
	// make (the cached tool's records of the replica: see Cached).
	Prepare func(ctx context.Context, src, dst string) error
}

// Outcome is what a tool reports of one sync.
type Outcome struct {
	// Stats may be zero for tools that report none (rsync).
	Stats engine.Stats
	// Seconds is the tool's own measure of the sync (the pdiffagent child
	// processes time the sync without their start-up); zero means the
	// harness's wall clock around Sync.
	Seconds float64
	// ClientRSS and ServerRSS are the peak resident bytes of the two ends
	// (0: not measured; a local sync has only a client).
	ClientRSS int64
	ServerRSS int64
	// ClientCPU and ServerCPU are the user and system CPU seconds of the
	// two ends' processes (0: not measured). The server's include its
	// start-up and shutdown.
	ClientCPU float64
	ServerCPU float64
}

// Config describes a benchmark run.
type Config struct {
	// Dir receives the source and target files (and must not be tmpfs if
	// disk numbers are wanted).
	Dir string
	// Sizes are the source sizes; every size runs every round.
	Sizes []int64
	// Changed lists the fractions of blocks to change, one round each.
	Changed   []float64
	BlockSize int
	// Hash is the tier-2 hash the pdiffagent tools run with (-m; "" is
	// sha256): the strong floor measures it.
	Hash string
	// Patterns are run one after the other; Inserts runs one round only
	// (its change is not a fraction), Insert one per entry of InsertLens,
	// Pages one per entry of Pages.
	Patterns []Pattern
	// Pages lists the numbers of PageLen pages the Pages pattern rewrites,
	// one round each.
	Pages []int64
	// InsertLens lists the bytes the Insert pattern inserts, one round
	// each (none: InsertLen).
	InsertLens []int64
	Seed       int64
	// Cold evicts both files from the page cache before every sync;
	// otherwise both are read first so that the sync starts warm.
	Cold bool
	// Tools run in every round, in an order that rotates from round to
	// round so that none always runs first.
	Tools []Tool
	// Repeat runs every tool this many times per round (0 means 1); a
	// result is the tool's fastest run, Result.Runs lists them all.
	Repeat int
	// Net, when Bytes > 0, has the network floors measured before the
	// rounds, in each round and after them (the fastest is kept).
	Net NetConfig
	// Log, if set, receives one line per step.
	Log func(format string, args ...any)
	// Result, if set, is called with each result as soon as it is known.
	Result func(Result)
}

// Run measures the network floors, then for every size generates a source
// and a copy, and runs every pattern, round and tool. Each sync starts from
// the verified result of the one before, mutated again with the round's
// seed, so every tool of a round sees the same target. Run stops at the
// first error, including a result that differs from its source.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	if len(cfg.Tools) == 0 {
		return nil, fmt.Errorf("bench: no tools")
	}
	if cfg.Log == nil {
		cfg.Log = func(string, ...any) {}
	}
	rep := &Report{Started: time.Now(), Machine: Describe(cfg.Dir), Dir: cfg.Dir, Sizes: cfg.Sizes,
		BlockSize: cfg.BlockSize, Hash: cfg.Hash, Cold: cfg.Cold, Repeat: max(cfg.Repeat, 1), Skipped: map[string]string{}}
	mark := markLoad()
	defer func() {
		rep.Seconds = time.Since(rep.Started).Seconds()
		rep.Load = markLoad().since(mark)
	}()
	var tools []Tool
	for _, t := range cfg.Tools {
		if t.Skip != "" {
			rep.Skipped[t.Name] = t.Skip
			cfg.Log("%s: skipped: %s", t.Name, t.Skip)
		} else {
			tools = append(tools, t)
		}
	}
	for _, p := range cfg.Patterns {
		rep.Patterns = append(rep.Patterns, p.String())
	}
	if err := measureNet(ctx, cfg, rep, nil); err != nil {
		return rep, err
	}
	src := filepath.Join(cfg.Dir, "source.img")
	dst := filepath.Join(cfg.Dir, "target.img")
	defer os.Remove(src)
	defer os.Remove(dst)
	r := 0
	for _, size := range cfg.Sizes {
		cfg.Log("generating %s of random data and a copy", FormatBytes(size))
		if err := GenerateRandom(src, size, cfg.Seed); err != nil {
			return rep, err
		}
		if err := CopyFile(src, dst); err != nil {
			return rep, err
		}
		for _, pat := range cfg.Patterns {
			for _, rd := range roundsOf(cfg, pat, size) {
				rd.seed = cfg.Seed + 1 + int64(r)
				if err := runRound(ctx, cfg, rep, rd, rotate(tools, r), src, dst); err != nil {
					return rep, err
				}
				r++
			}
		}
	}
	return rep, measureNet(ctx, cfg, rep, nil)
}

func rotate(tools []Tool, r int) []Tool {
	out := make([]Tool, len(tools))
	for i := range tools {
		out[i] = tools[(r+i)%len(tools)]
	}
	return out
}

type roundSpec struct {
	size    int64
	pattern Pattern
	changed float64 // fraction of blocks; for Pages, of pages
	pages   int64   // Pages only
	insert  int64   // Insert only: the bytes inserted
	seed    int64
}

// roundsOf lists the rounds of pattern pat at size.
func roundsOf(cfg Config, pat Pattern, size int64) []roundSpec {
	var out []roundSpec
	switch pat {
	case Insert:
		lens := cfg.InsertLens
		if len(lens) == 0 {
			lens = []int64{InsertLen}
		}
		for _, n := range lens {
			out = append(out, roundSpec{size: size, pattern: pat, insert: n})
		}
	case Inserts:
		out = append(out, roundSpec{size: size, pattern: pat})
	case Pages:
		for _, n := range cfg.Pages {
			out = append(out, roundSpec{size: size, pattern: pat, pages: n, changed: float64(n) / float64(max(size/PageLen, 1))})
		}
	default:
		for _, ch := range cfg.Changed {
			out = append(out, roundSpec{size: size, pattern: pat, changed: ch})
		}
	}
	return out
}

// String names the round's change: "12.5%", or "100 pages".
func (rd roundSpec) String() string {
	if rd.pattern == Pages {
		return fmt.Sprintf("%d pages", rd.pages)
	}
	if rd.pattern == Insert {
		return insertDelta(rd.insert)
	}
	return pct(rd.changed)
}

// runRound runs every tool cfg.Repeat times on the same mutation, in an
// order that rotates with each repetition, and reports each tool's fastest
// run. The floors are measured before each repetition; the fastest counts.
// The network floors too: their fastest in the round is compared with the
// tools' (Result.Net), as many samples of each, taken side by side.
func runRound(ctx context.Context, cfg Config, rep *Report, rd roundSpec, tools []Tool, src, dst string) error {
	var floors Result
	var net []NetFloor
	best := map[string]Result{}
	for k := range max(cfg.Repeat, 1) {
		if err := measureNet(ctx, cfg, rep, &net); err != nil {
			return err
		}
		for i, tool := range rotate(tools, k) {
			if err := ctx.Err(); err != nil {
				return err
			}
			res, err := runTool(ctx, cfg, rd, tool, src, dst, i == 0, &floors)
			if err != nil {
				return fmt.Errorf("%s at %s changed (%s): %w", tool.Name, rd, rd.pattern, err)
			}
			if !res.Verified {
				return fmt.Errorf("%s at %s changed (%s): target differs from source after sync",
					tool.Name, rd, rd.pattern)
			}
			res.Runs = []float64{res.SyncSeconds}
			if b, ok := best[tool.Name]; ok {
				runs := append(b.Runs, res.SyncSeconds)
				if b.SyncSeconds <= res.SyncSeconds {
					res = b
				}
				res.Runs = runs
				res.ClientRSS, res.ServerRSS = max(res.ClientRSS, b.ClientRSS), max(res.ServerRSS, b.ServerRSS)
			}
			best[tool.Name] = res
		}
	}
	// The disk again, after the round's syncs wrote to it: a sync met it
	// somewhere between the two.
	var after float64
	if r, ok := best[tools[0].Name]; ok { // every tool's round has the same changed bytes
		w, err := FloorWrite(filepath.Dir(dst), r.ChangedBytes(), max(cfg.Net.Workers, 1))
		if err != nil {
			return err
		}
		after = w.Seconds()
	}
	for _, tool := range tools {
		res := best[tool.Name]
		res.ReadSeconds, res.FloorSeconds, res.WriteSeconds, res.Net = floors.ReadSeconds, floors.FloorSeconds, floors.WriteSeconds, net
		res.WriteAfterSeconds = after
		if floor := max(res.FloorSeconds, res.ReadSeconds); floor > 0 {
			res.Ratio = res.SyncSeconds / floor
		}
		rep.Results = append(rep.Results, res)
		if cfg.Result != nil {
			cfg.Result(res)
		}
	}
	return nil
}

// runTool mutates the target (which equals the source), measures the
// floors if first, warms or evicts both files, syncs and verifies.
func runTool(ctx context.Context, cfg Config, rd roundSpec, tool Tool, src, dst string, first bool, floors *Result) (Result, error) {
	bs := int64(cfg.BlockSize)
	res := Result{Tool: tool.Name, Pattern: rd.pattern.String(), Changed: rd.changed, Pages: rd.pages, Inserted: rd.insert, Size: rd.size,
		BlockSize: cfg.BlockSize, Blocks: (rd.size + bs - 1) / bs}
	cfg.Log("%s: %s %s: mutating", tool.Name, rd.pattern, rd)
	var err error
	switch rd.pattern {
	case Pages:
		res.BlocksMutated, err = MutatePages(dst, cfg.BlockSize, rd.pages, rd.seed)
	case Insert:
		res.BlocksMutated, err = MutateInsert(dst, cfg.BlockSize, rd.insert, rd.seed)
	default:
		res.BlocksMutated, err = Mutate(dst, cfg.BlockSize, rd.changed, rd.pattern, rd.seed)
	}
	if err != nil {
		return res, err
	}
	if rd.pattern.Inserting() {
		res.Changed = float64(res.BlocksMutated) / float64(max(res.Blocks, 1))
	}
	// The mutation left up to the whole copy dirty in the page cache: write
	// it back now, or the sync that follows pays for the bench's own
	// writes (an O_DIRECT write must first flush the dirty pages it covers).
	if err := syncFile(dst); err != nil {
		return res, err
	}
	if tool.Prepare != nil {
		cfg.Log("%s: %s %s: preparing", tool.Name, rd.pattern, rd)
		if err := tool.Prepare(ctx, src, dst); err != nil {
			return res, fmt.Errorf("preparing: %w", err)
		}
	}
	paths := []string{src, dst}
	if _, err := FloorRead(paths); err != nil { // warm both copies
		return res, err
	}
	if first {
		f := res // the round's shape: size, blocks, pattern, pages
		if err := measureFloors(paths, cfg.BlockSize, cfg.Hash, &f); err != nil {
			return res, err
		}
		w, err := FloorWrite(filepath.Dir(dst), f.ChangedBytes(), max(cfg.Net.Workers, 1))
		if err != nil {
			return res, err
		}
		floors.ReadSeconds = minPositive(floors.ReadSeconds, f.ReadSeconds)
		floors.FloorSeconds = minPositive(floors.FloorSeconds, f.FloorSeconds)
		floors.WriteSeconds = minPositive(floors.WriteSeconds, w.Seconds())
	}
	if cfg.Cold {
		if err := Evict(paths); err != nil {
			return res, fmt.Errorf("evicting from the page cache: %w", err)
		}
	}
	res.Resident = residentBoth(paths)
	res.Cache = cacheState(res.Resident)

	cfg.Log("%s: %s %s: syncing", tool.Name, rd.pattern, rd)
	start := time.Now()
	out, err := tool.Sync(ctx, src, dst)
	res.WallSeconds = time.Since(start).Seconds()
	if err != nil {
		return res, err
	}
	// Write back what the tool left dirty, so that the next tool does not
	// pay for it (pdiffagent fsyncs the target itself; rsync does not).
	start = time.Now()
	if err := Flush(dst); err != nil {
		return res, err
	}
	res.FlushSeconds = time.Since(start).Seconds()
	res.Stats, res.ClientRSS, res.ServerRSS = out.Stats, out.ClientRSS, out.ServerRSS
	res.ClientCPU, res.ServerCPU = out.ClientCPU, out.ServerCPU
	res.SyncSeconds = out.Seconds
	if res.SyncSeconds <= 0 {
		res.SyncSeconds = res.WallSeconds
	}
	res.Verified, err = Compare(src, dst)
	return res, err
}

// measureFloors times a warm read of both copies and the strong hash of
// their matching blocks.
func measureFloors(paths []string, blockSize int, hash string, res *Result) error {
	read, err := FloorRead(paths)
	if err != nil {
		return err
	}
	matching := res.matching()
	res.ReadSeconds = read.Seconds()
	if matching == 0 {
		return nil // nothing to confirm: no strong floor
	}
	floor, err := FloorStrong(paths, matching, blockSize, hash)
	res.FloorSeconds = floor.Seconds()
	return err
}

// matching is the fraction of the copies a verified sync confirms with
// sha256: the blocks not mutated; with the pages pattern all but the
// pages, as refinement confirms the rest of each block with a rewritten
// page.
func (r Result) matching() float64 {
	if r.Pattern == Pages.String() && r.Size > 0 {
		return max(0, 1-float64(r.ChangedBytes())/float64(r.Size))
	}
	if r.Blocks > 0 {
		return max(0, 1-float64(r.BlocksMutated)/float64(r.Blocks))
	}
	return 0
}

// minPositive is the smaller of a and b, ignoring a zero a (unset).
func minPositive(a, b float64) float64 {
	if a <= 0 {
		return b
	}
	return min(a, b)
}

// syncFile writes a file's dirty pages back to its disk.
func syncFile(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}
