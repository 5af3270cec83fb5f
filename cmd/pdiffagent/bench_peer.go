package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/pprof"
	"time"

	"github.com/pdiffagent/pdiffagent/agent"
	"github.com/pdiffagent/pdiffagent/bench"
	"github.com/pdiffagent/pdiffagent/engine"
	"github.com/pdiffagent/pdiffagent/engine/cache"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// The bench runs each end of a network sync as a child process of its
// own, so that getrusage gives each end's peak RSS. These hidden commands
// are those ends; they are not meant for users (`pdiffagent listen`,
// `push` and `pull` are).

// peer-serve prints a first line {"addr": …, "fingerprint": …} when it
// listens and a last line {"peak_rss": …} when SIGTERM has stopped it.

// peerServeOptions are the flags of `bench peer-serve`.
type peerServeOptions struct {
	Root, Identity, Allow string
	HeapProfile           string
	CacheDir              string // "": no block-hash cache
	readOptions
	profileOptions
}

func newPeerServeCommand() *cobra.Command {
	o := &peerServeOptions{}
	cmd := &cobra.Command{
		Use:    "peer-serve --root DIR --identity DIR --allow FP",
		Short:  "Benchmark server: listen on 127.0.0.1, print the address as JSON, serve until SIGTERM",
		Hidden: true,
		Args:   exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return o.profiled(func() error { return runPeerServe(cmd.Context(), o) })
		},
	}
	cmd.Flags().StringVar(&o.Root, "root", "", "directory served")
	cmd.Flags().StringVar(&o.Identity, "identity", "", "identity directory (created if missing)")
	cmd.Flags().StringVar(&o.Allow, "allow", "", "fingerprint of the one client allowed")
	cmd.Flags().StringVar(&o.HeapProfile, "heap-profile", "", "write a heap profile (live objects) here when stopped")
	cmd.Flags().StringVar(&o.CacheDir, "cache-dir", "", "block-hash cache directory (default: none)")
	o.readOptions.AddFlags(cmd.Flags())
	o.profileOptions.AddFlags(cmd.Flags())
	return cmd
}

func runPeerServe(ctx context.Context, o *peerServeOptions) error {
	id, err := agent.LoadOrCreateIdentity(o.Identity)
	if err != nil {
		return err
	}
	store, err := openBenchCache(o.CacheDir)
	if err != nil {
		return err
	}
	srv, err := agent.Listen(ctx, "127.0.0.1:0", agent.ServerConfig{Root: o.Root, Allow: []string{o.Allow}, Identity: id,
		ReadPath: engine.ReadPath(o.ReadPath), DirectRead: o.DirectRead, Cache: store})
	if err != nil {
		return err
	}
	b, _ := json.Marshal(map[string]string{"addr": srv.Addr(), "fingerprint": srv.Fingerprint()})
	fmt.Printf("%s\n", b)
	err = srv.Serve(ctx)
	if o.HeapProfile != "" {
		if werr := writeHeapProfile(o.HeapProfile); werr != nil && err == nil {
			err = werr
		}
	}
	b, _ = json.Marshal(map[string]int64{"peak_rss": bench.SelfPeakRSS()})
	fmt.Printf("%s\n", b)
	if ctx.Err() != nil {
		return nil // stopped by SIGTERM, as intended
	}
	return err
}

// peerPushOptions are the flags of `bench peer-push`.
type peerPushOptions struct {
	Identity, Pin, Transport string
	Connections              int
	CacheDir                 string // "": no block-hash cache
	gridOptions
	refineOptions
	workerOptions
	readOptions
	profileOptions
}

// peerResult is what `bench peer-push` and `bench peer-sync` print: the
// sync's stats, its time (for a push, connection set-up included; process
// start-up never) and the process's own peak RSS (VmHWM).
type peerResult struct {
	engine.Stats
	Seconds float64 `json:"wall_seconds"`
	PeakRSS int64   `json:"peak_rss"`
}

func newPeerPushCommand() *cobra.Command {
	o := &peerPushOptions{}
	cmd := &cobra.Command{
		Use:    "peer-push [flags] SRC HOST:PORT/PATH",
		Short:  "Benchmark client: push SRC and print the outcome and time as JSON",
		Hidden: true,
		Args:   exactArgs(2, "SRC and HOST:PORT/PATH"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return o.profiled(func() error { return runPeerPush(cmd.Context(), o, args[0], args[1]) })
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.Identity, "identity", "", "identity directory (created if missing)")
	f.StringVar(&o.Pin, "pin", "", "the server's fingerprint")
	f.StringVar(&o.Transport, "transport", "tcp", "tcp or quic")
	f.IntVar(&o.Connections, "connections", 1, "QUIC connections")
	f.StringVar(&o.CacheDir, "cache-dir", "", "block-hash cache directory (default: none)")
	o.addEngineFlags(f)
	return cmd
}

func (o *peerPushOptions) addEngineFlags(f *pflag.FlagSet) {
	o.gridOptions.AddFlags(f)
	o.refineOptions.AddFlags(f)
	o.workerOptions.AddFlags(f)
	o.readOptions.AddFlags(f)
	o.profileOptions.AddFlags(f)
}

// engineOptions are the engine.Options the read flags give.
func (o *peerPushOptions) engineOptions() engine.Options {
	eo := engine.Options{CompareLocal: true} // peer-sync runs SyncLocal as sync does
	o.readOptions.apply(&eo)
	return eo
}

func (o *peerPushOptions) params() engine.Params {
	var p engine.Params
	o.gridOptions.apply(&p.Session)
	p.MinBlock = int(o.MinBlock)
	o.workerOptions.apply(&p.Session)
	return p
}

func newPeerSyncCommand() *cobra.Command {
	o := &peerPushOptions{}
	cmd := &cobra.Command{
		Use:    "peer-sync [flags] SRC DST",
		Short:  "Benchmark local sync: engine.SyncLocal as `sync` runs it; print stats, time and peak RSS as JSON",
		Hidden: true,
		Args:   exactArgs(2, "SRC and DST"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return o.profiled(func() error { return runPeerSync(cmd.Context(), o, args[0], args[1]) })
		},
	}
	o.addEngineFlags(cmd.Flags())
	return cmd
}

func runPeerSync(ctx context.Context, o *peerPushOptions, src, dst string) error {
	start := time.Now()
	st, err := engine.SyncLocal(ctx, src, dst, o.params(), o.engineOptions())
	res := peerResult{Stats: st, Seconds: time.Since(start).Seconds(), PeakRSS: bench.SelfPeakRSS()}
	if err != nil {
		return err
	}
	if !st.Verified {
		return fmt.Errorf("sync ended unverified")
	}
	return json.NewEncoder(os.Stdout).Encode(res)
}

func runPeerPush(ctx context.Context, o *peerPushOptions, src, remote string) error {
	id, err := agent.LoadOrCreateIdentity(o.Identity)
	if err != nil {
		return err
	}
	cfg := agent.ClientConfig{Identity: id, Pin: o.Pin, Transport: o.Transport, Connections: o.Connections}
	eo := o.engineOptions()
	if eo.Cache, err = openBenchCache(o.CacheDir); err != nil {
		return err
	}
	start := time.Now()
	out, err := agent.Push(ctx, cfg, src, remote, o.params(), eo)
	res := peerResult{Stats: out.Stats, Seconds: time.Since(start).Seconds(), PeakRSS: bench.SelfPeakRSS()}
	if err != nil {
		return err
	}
	if !out.Verified {
		return fmt.Errorf("push ended unverified")
	}
	return json.NewEncoder(os.Stdout).Encode(res)
}

// openBenchCache opens a bench peer's block-hash cache, or none for "".
// The bench's peers run without one unless the tool measures it (Cached).
func openBenchCache(dir string) (*cache.Store, error) {
	if dir == "" {
		return nil, nil
	}
	return cache.Open(cache.Options{Dir: dir})
}

// profileOptions is the --cpu-profile flag of the bench's child ends.
type profileOptions struct {
	CPUProfile string
}

func (o *profileOptions) AddFlags(f *pflag.FlagSet) {
	f.StringVar(&o.CPUProfile, "cpu-profile", "", "write a CPU profile of the whole run here (go tool pprof)")
}

// profiled runs run under a CPU profile if one was asked for.
func (o *profileOptions) profiled(run func() error) error {
	if o.CPUProfile == "" {
		return run()
	}
	f, err := os.Create(o.CPUProfile)
	if err != nil {
		return err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return err
	}
	err = run()
	pprof.StopCPUProfile()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// writeHeapProfile writes the live heap after a garbage collection: what
// a session left behind.
func writeHeapProfile(path string) error {
	runtime.GC()
	return writeFile(path, func(w io.Writer) error { return pprof.Lookup("heap").WriteTo(w, 0) })
}

// newPeerFloorServeCommand is the receiving end of a network floor in its
// own process, as a sync's server runs in its own.
func newPeerFloorServeCommand() *cobra.Command {
	var kind string
	cmd := &cobra.Command{
		Use:    "peer-floor-serve --kind tcp|tls|quic",
		Short:  "Benchmark floor receiver: listen on 127.0.0.1, print the address as JSON, serve until SIGTERM",
		Hidden: true,
		Args:   exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, args []string) error {
			err := bench.ServeFloor(cmd.Context(), kind, func(addr string) {
				b, _ := json.Marshal(map[string]string{"addr": addr})
				fmt.Printf("%s\n", b)
			})
			if cmd.Context().Err() != nil {
				return nil // stopped by SIGTERM, as intended
			}
			return err
		},
	}
	cmd.Flags().StringVar(&kind, "kind", "tls", "tcp, tls, rec or quic")
	return cmd
}

// newPeerFloorSendCommand is the sending end of a network floor; it prints
// the floor as JSON.
func newPeerFloorSendCommand() *cobra.Command {
	var (
		kind           string
		conns, streams int
		total          int64
	)
	cmd := &cobra.Command{
		Use:    "peer-floor-send --kind tcp|tls|quic ADDR",
		Short:  "Benchmark floor sender: send to a peer-floor-serve and print the floor as JSON",
		Hidden: true,
		Args:   exactArgs(1, "ADDR"),
		RunE: func(cmd *cobra.Command, args []string) error {
			f, err := bench.SendFloor(cmd.Context(), kind, args[0], conns, streams, total)
			if err != nil {
				return err
			}
			f.Processes = 2
			return json.NewEncoder(os.Stdout).Encode(f)
		},
	}
	f := cmd.Flags()
	f.StringVar(&kind, "kind", "tls", "tcp, tls, rec or quic")
	f.IntVar(&conns, "connections", 1, "connections")
	f.IntVar(&streams, "streams", 1, "QUIC streams")
	f.Int64Var(&total, "bytes", 1<<30, "bytes to send")
	return cmd
}
