package main

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/pdiffagent/pdiffagent/bench"
	"github.com/spf13/pflag"
)

// benchTreeOptions are the flags of bench's tree case (issue 16).
type benchTreeOptions struct {
	Tree      bool
	TreeScale float64
	TreeFiles int
	TreeDir   string
	// TreeProfile, when set, is a directory where every tree push writes
	// its client's and its server's CPU profiles (tcp-N-client.pprof, …).
	TreeProfile string
}

func (o *benchTreeOptions) AddFlags(f *pflag.FlagSet) {
	f.BoolVar(&o.Tree, "tree", false, "also run the tree case: 2,000 files of 4 KiB to 2 MiB and three of 512 MiB (times --tree-scale), "+
		"5% of the small files rewritten and 10% of the large files' blocks changed, pushed over TCP (pdiffagent push DIR/ HOST:PORT/PATH) "+
		"and with rsync -a --inplace --no-whole-file to a daemon, then both again with nothing changed")
	f.Float64Var(&o.TreeScale, "tree-scale", 1, "multiply every file size of the tree case by this, from 0.0001 to 1 (0.01 for a quick run)")
	f.IntVar(&o.TreeFiles, "tree-files", 2000, "small files in the tree case, 1 to 1000000")
	f.StringVar(&o.TreeDir, "tree-dir", "", "keep the tree case's trees in this directory and reuse them in the next run with the same sizes")
	f.MarkHidden("tree-dir")
	f.StringVar(&o.TreeProfile, "tree-profile", "", "write the CPU profiles of both ends of every tree push to this directory")
	f.MarkHidden("tree-profile")
}

func (o *benchTreeOptions) check() error {
	if !(o.TreeScale >= 1e-4 && o.TreeScale <= 1) {
		return usageErrorf("--tree-scale %v: want 0.0001 to 1", o.TreeScale)
	}
	if o.TreeFiles < 1 || o.TreeFiles > 1_000_000 {
		return usageErrorf("--tree-files %d: want 1 to 1000000", o.TreeFiles)
	}
	return nil
}

// runTreeCase runs the tree case in work and puts it in rep.Tree: the
// tcp tool pushes the tree with `pdiffagent push` to a `bench peer-serve`,
// local (when --tools has it) runs `pdiffagent sync`, rsync (with
// --vs-rsync) pushes to its daemon.
func runTreeCase(ctx context.Context, opts *benchOptions, work string, rep *bench.Report, log func(string, ...any)) error {
	n, err := benchPeers(opts, work)
	if err != nil {
		return err
	}
	n.transport = "tcp"
	// Default flags on both ends: each keeps its block-hash cache, and the
	// records a run makes serve the next (an operator's replica is made and
	// kept by pdiffagent); tcp-nocache is the same push with --no-cache.
	n.srvCache = filepath.Join(n.srvDir, "cache")
	n.profileDir, n.profileName = opts.TreeProfile, "tcp"
	nc := n
	nc.extra, nc.profileName = []string{"--no-cache"}, "tcp-nocache"
	tools := []bench.Tool{{Name: "tcp", Sync: n.pushTree, Prepare: n.prepareTree}, {Name: "tcp-nocache", Sync: nc.pushTree}}
	if slices.Contains(opts.Tools, "local") {
		tools = append(tools, bench.Tool{Name: "local", Sync: n.syncTree})
	}
	if opts.VsRsync {
		tools = append(tools, bench.RsyncTreeTool())
	}
	spec := bench.DefaultTreeSpec(opts.TreeScale, opts.Seed)
	spec.Files = opts.TreeFiles
	dir := work
	if opts.TreeDir != "" {
		dir = opts.TreeDir
	}
	tr, err := bench.RunTree(ctx, bench.TreeConfig{Dir: dir, Spec: spec, Keep: opts.TreeDir != "",
		BlockSize: int(opts.BlockSize), Hash: runHash(opts), Repeat: opts.Repeat, Tools: tools, Log: log})
	rep.Tree = tr
	return err
}

// pushTree runs `pdiffagent push --json SRC/ ADDR/NAME` against a fresh
// `bench peer-serve` whose root is dst's parent: the command line a user
// types, timed around the client. A build whose push refuses a directory
// makes it bench.ErrUnsupported.
func (n peerNet) pushTree(ctx context.Context, src, dst string) (bench.Outcome, error) {
	var res bench.Outcome
	sargs := []string{"--root", filepath.Dir(dst), "--identity", n.srvDir, "--allow", n.cliFP, "--cache-dir", n.srvCache}
	var cliProfile []string
	if n.profileDir != "" {
		treeProfiles++
		base := filepath.Join(n.profileDir, fmt.Sprintf("%s-%d-", n.profileName, treeProfiles))
		sargs = append(sargs, "--cpu-profile", base+"server.pprof")
		cliProfile = []string{"--cpuprofile", base + "client.pprof"}
	}
	d, addr, err := startPeer(ctx, n.exe, "peer-serve", append(sargs, n.read...)...)
	if err != nil {
		return res, err
	}
	args := append([]string{"push", "--json", "--progress=never", "--identity", n.cliDir, "--pin", n.srvFP,
		"--transport", n.transport}, n.common...)
	args = append(append(args, n.extra...), cliProfile...)
	start := time.Now()
	out, cu, err := bench.RunChild(ctx, bench.WatchProcess, n.exe, append(args, src+"/", addr+"/"+filepath.Base(dst))...)
	res.Seconds = time.Since(start).Seconds()
	su, serr := d.Stop()
	res.ClientRSS, res.ClientCPU, res.ServerRSS, res.ServerCPU = cu.PeakRSS, cu.CPU, su.PeakRSS, su.CPU
	var fin struct {
		PeakRSS int64 `json:"peak_rss"`
	}
	if json.Unmarshal([]byte(su.Last), &fin) == nil && fin.PeakRSS > 0 {
		res.ServerRSS = fin.PeakRSS
	}
	if err == nil && serr != nil {
		err = fmt.Errorf("peer-serve: %w", serr)
	}
	return res, treeOutcome(err, out, &res)
}

// prepareTree makes the block-hash records of both ends that the push
// before a timed one leaves: a push of the identical trees with
// --checksum-all, which hashes every file on both sides and must change
// nothing.
func (n peerNet) prepareTree(ctx context.Context, src, dst string) error {
	p := n
	p.extra, p.profileDir = append(slices.Clone(n.extra), "--checksum-all"), ""
	out, err := p.pushTree(ctx, src, dst)
	if err != nil {
		return err
	}
	if out.Stats.BlocksChanged != 0 || out.Stats.BytesWritten != 0 {
		return fmt.Errorf("the push of identical trees changed %d blocks (%d bytes written)", out.Stats.BlocksChanged, out.Stats.BytesWritten)
	}
	return nil
}

// treeProfiles numbers the tree pushes profiled (--tree-profile).
var treeProfiles int

// syncTree runs `pdiffagent sync --json SRC/ DST`, timed around it (its
// block-hash cache, if any, under the client's throwaway identity).
func (n peerNet) syncTree(ctx context.Context, src, dst string) (bench.Outcome, error) {
	args := append([]string{"sync", "--json", "--progress=never", "--cache-dir", filepath.Join(n.cliDir, "cache")}, n.common...)
	start := time.Now()
	out, cu, err := bench.RunChild(ctx, bench.WatchProcess, n.exe, append(args, src+"/", dst)...)
	res := bench.Outcome{Seconds: time.Since(start).Seconds(), ClientRSS: cu.PeakRSS, ClientCPU: cu.CPU}
	return res, treeOutcome(err, out, &res)
}

// treeOutcome reads a tree command's --json output into res.Stats (the
// counts it reports, if any) and turns the refusal of a build whose
// command takes files only (checkLocalKind's) into bench.ErrUnsupported.
func treeOutcome(err error, out []byte, res *bench.Outcome) error {
	if err != nil {
		if strings.Contains(err.Error(), "only regular files and block devices can be synced") {
			return fmt.Errorf("a directory as the source: %w by this build", bench.ErrUnsupported)
		}
		return err
	}
	json.Unmarshal(out, &res.Stats)
	return nil
}
