package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/pdiffagent/pdiffagent/agent"
	"github.com/pdiffagent/pdiffagent/bench"
	"github.com/pdiffagent/pdiffagent/engine"
)

// benchTools builds the tools the bench compares. Every pdiffagent sync
// runs in child processes of this same executable, which print their own
// peak RSS (VmHWM) at exit, so that each end's is its own: "local" is
// `bench peer-sync` (engine.SyncLocal, as `pdiffagent sync` runs it);
// "tcp" and "quic" start a fresh `bench peer-serve` (root: the work
// directory) and run `bench peer-push` against it. Both ends get throwaway
// identities made under work/ids.
func benchTools(opts *benchOptions, work string) ([]bench.Tool, error) {
	base, err := benchPeers(opts, work)
	if err != nil {
		return nil, err
	}
	var tools []bench.Tool
	for _, name := range opts.Tools {
		switch name {
		case "local":
			tools = append(tools, bench.Tool{Name: name, Sync: func(ctx context.Context, src, dst string) (bench.Outcome, error) {
				return localChild(ctx, base.exe, base.common, src, dst)
			}})
		case "tcp", "quic", bench.Cached:
			n := base
			n.transport = name
			tool := bench.Tool{Name: name, Sync: n.sync}
			if name == bench.Cached {
				n.transport = "tcp"
				n.srvCache, n.cliCache = filepath.Join(work, "cache", "server"), filepath.Join(work, "cache", "client")
				tool.Sync, tool.Prepare = n.sync, n.prepareCached
			}
			tools = append(tools, tool)
		default:
			return nil, usageErrorf("tool %q: want local, tcp, cached or quic (and --vs-rsync for rsync)", name)
		}
	}
	if opts.VsRsync {
		tools = append(tools, bench.RsyncTool())
	}
	return tools, nil
}

// benchPeers makes the throwaway identities of both ends under work/ids
// and returns what every pdiffagent tool runs with (transport unset).
func benchPeers(opts *benchOptions, work string) (peerNet, error) {
	exe, err := os.Executable()
	if err != nil {
		return peerNet{}, err
	}
	srvDir, cliDir := filepath.Join(work, "ids", "server"), filepath.Join(work, "ids", "client")
	srvID, err := agent.LoadOrCreateIdentity(srvDir)
	if err != nil {
		return peerNet{}, err
	}
	cliID, err := agent.LoadOrCreateIdentity(cliDir)
	if err != nil {
		return peerNet{}, err
	}
	common := []string{"-b", formatSize(int64(opts.BlockSize)), "-c", strconv.Itoa(opts.Concurrency),
		"-m", engine.StrongHash(opts.Hash).String()}
	common = append(common, opts.readOptions.args()...)
	common = append(common, opts.refineOptions.args()...)
	return peerNet{exe: exe, common: common, read: opts.readOptions.args(), connections: opts.Connections,
		srvDir: srvDir, cliDir: cliDir, srvFP: srvID.Fingerprint(), cliFP: cliID.Fingerprint()}, nil
}

// localChild runs `bench peer-sync SRC DST` and reads its result.
func localChild(ctx context.Context, exe string, common []string, src, dst string) (bench.Outcome, error) {
	args := append([]string{"bench", "peer-sync"}, common...)
	out, u, err := bench.RunChild(ctx, bench.WatchNone, exe, append(args, src, dst)...)
	res := bench.Outcome{ClientRSS: u.PeakRSS, ClientCPU: u.CPU}
	if err != nil {
		return res, err
	}
	var pr peerResult
	if err := json.Unmarshal(out, &pr); err != nil {
		return res, fmt.Errorf("peer-sync: %w", err)
	}
	res.Stats, res.Seconds, res.ClientRSS = pr.Stats, pr.Seconds, selfOr(pr.PeakRSS, u.PeakRSS)
	return res, nil
}

// selfOr is the peak RSS a child reported of itself, or failing that the
// one getrusage gave (an upper bound: see bench/rss.go).
func selfOr(self, rusage int64) int64 {
	if self > 0 {
		return self
	}
	return rusage
}

// peerNet runs one network sync between two child processes.
type peerNet struct {
	exe, transport string
	common         []string
	read           []string // the server's read flags
	connections    int
	srvDir, cliDir string
	srvFP, cliFP   string
	// srvCache and cliCache are the block-hash cache directories of the
	// ends (bench.Cached); "" runs them without one.
	srvCache, cliCache string
	// extra are more flags of the tree case's push; with profileDir, both
	// its ends write CPU profiles there, named after profileName.
	extra                   []string
	profileDir, profileName string
}

func (n peerNet) sync(ctx context.Context, src, dst string) (bench.Outcome, error) {
	var res bench.Outcome
	d, addr, err := startPeer(ctx, n.exe, "peer-serve", append([]string{"--root", filepath.Dir(dst), "--identity", n.srvDir,
		"--allow", n.cliFP, "--cache-dir", n.srvCache}, n.read...)...)
	if err != nil {
		return res, err
	}
	args := append([]string{"bench", "peer-push", "--identity", n.cliDir, "--pin", n.srvFP,
		"--transport", n.transport, "--connections", strconv.Itoa(n.connections), "--cache-dir", n.cliCache}, n.common...)
	out, cu, err := bench.RunChild(ctx, bench.WatchNone, n.exe, append(args, src, addr+"/"+filepath.Base(dst))...)
	su, serr := d.Stop()
	res.ClientRSS, res.ClientCPU, res.ServerRSS, res.ServerCPU = cu.PeakRSS, cu.CPU, su.PeakRSS, su.CPU
	var fin struct {
		PeakRSS int64 `json:"peak_rss"`
	}
	if json.Unmarshal([]byte(su.Last), &fin) == nil {
		res.ServerRSS = fin.PeakRSS
	}
	if err != nil {
		return res, err
	}
	if serr != nil {
		return res, fmt.Errorf("peer-serve: %w", serr)
	}
	var pr peerResult
	if err := json.Unmarshal(out, &pr); err != nil {
		return res, fmt.Errorf("peer-push: %w", err)
	}
	res.Stats, res.Seconds, res.ClientRSS = pr.Stats, pr.Seconds, selfOr(pr.PeakRSS, cu.PeakRSS)
	return res, nil
}

// prepareCached makes the state the cached tool measures from
// (bench.Cached): the server's record of the replica dst as it is, made
// by pushing a copy of dst onto it, and a stale client record of the
// source src (its ctime moved by a chmod to its own mode), as a changed
// source's.
func (n peerNet) prepareCached(ctx context.Context, src, dst string) error {
	same := filepath.Join(filepath.Dir(dst), "cached-replica.img")
	defer os.Remove(same)
	if err := bench.CopyFile(dst, same); err != nil {
		return err
	}
	out, err := n.sync(ctx, same, dst)
	if err != nil {
		return err
	}
	if out.Stats.BlocksChanged != 0 {
		return fmt.Errorf("the replica's copy pushed onto it changed %d blocks", out.Stats.BlocksChanged)
	}
	fi, err := os.Stat(src)
	if err != nil {
		return err
	}
	return os.Chmod(src, fi.Mode().Perm())
}

// floorsInProcesses measures each network floor between two child
// processes of this executable, `bench peer-floor-serve` and `bench
// peer-floor-send`, as the tcp and quic syncs run: both ends in one process
// would share one Go scheduler, which no two agents do, and the QUIC floor
// measured so ran faster than the same two ends apart.
func floorsInProcesses() (func(ctx context.Context, kind string, conns, streams int, total int64) (bench.NetFloor, error), error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	return func(ctx context.Context, kind string, conns, streams int, total int64) (bench.NetFloor, error) {
		f := bench.NetFloor{Kind: kind}
		d, addr, err := startPeer(ctx, exe, "peer-floor-serve", "--kind", kind)
		if err != nil {
			return f, err
		}
		out, _, err := bench.RunChild(ctx, bench.WatchNone, exe, "bench", "peer-floor-send", "--kind", kind,
			"--connections", strconv.Itoa(conns), "--streams", strconv.Itoa(streams), "--bytes", strconv.FormatInt(total, 10), addr)
		if _, serr := d.Stop(); err == nil && serr != nil {
			err = fmt.Errorf("peer-floor-serve: %w", serr)
		}
		if err != nil {
			return f, err
		}
		if err := json.Unmarshal(out, &f); err != nil {
			return f, fmt.Errorf("peer-floor-send: %w", err)
		}
		return f, nil
	}, nil
}

// startPeer starts `bench CMD ARGS…`, a server that prints {"addr": …} as
// its first line, and returns it with that address.
func startPeer(ctx context.Context, exe, cmd string, args ...string) (*bench.Daemon, string, error) {
	d, line, err := bench.StartDaemon(ctx, bench.WatchNone, true, 30*time.Second, exe, append([]string{"bench", cmd}, args...)...)
	if err != nil {
		return nil, "", err
	}
	var ready struct{ Addr string }
	if err := json.Unmarshal([]byte(line), &ready); err != nil || ready.Addr == "" {
		d.Stop()
		return nil, "", fmt.Errorf("%s said %q", cmd, line)
	}
	return d, ready.Addr, nil
}
