package main

import (
	"fmt"
	"io/fs"
	"os"
	"runtime"
	"strings"

	"github.com/pdiffagent/pdiffagent/agent"
	"github.com/pdiffagent/pdiffagent/engine"
	"github.com/pdiffagent/pdiffagent/wire"
	"github.com/spf13/pflag"
)

// syncOptions are the flags of every command that runs a sync: sync, push
// and pull. Push and pull embed it and add their own.
type syncOptions struct {
	BlockSize   blockSizeValue
	Concurrency int
	Hash        hashValue
	WholeFile   bool
	DryRun      bool
	Compress    codecValue
	Start, End  sizeValue
	NoSparse    bool
	NoTimes     bool
	NoPerms     bool
	Owner       bool
	Atomic      bool
	outputOptions
}

// AddFlags registers the sync flags, including the output flags.
func (o *syncOptions) AddFlags(f *pflag.FlagSet) {
	o.BlockSize = engine.DefaultBlockSize
	o.Hash = hashValue(engine.SHA256)
	f.VarP(&o.BlockSize, "block-size", "b", "block size, a power of two from 4K to 64M (e.g. 128K, 1MiB, 4M)")
	f.IntVarP(&o.Concurrency, "concurrency", "c", runtime.NumCPU(), fmt.Sprintf("workers (stripes hashed in parallel), 1 to %d", wire.MaxWorkers))
	f.VarP(&o.Hash, "hash", "m", "tier-2 hash confirming equal blocks: sha256 or sha512_256")
	f.BoolVarP(&o.WholeFile, "whole-file", "W", false, "send every block without comparing")
	f.BoolVarP(&o.DryRun, "dry-run", "n", false, "compare and report only; write nothing (exit 3 if the target differs)")
	f.Var(&o.Compress, "compress", "compress changed blocks: none or lz4 (kept per block only when it shrinks it; pays on links slower than ~0.4 GB/s per core)")
	f.Var(&o.Start, "start", "sync only from this byte offset (a multiple of the block size)")
	f.Var(&o.End, "end", "sync only up to this byte offset (a multiple of the block size, or the source's size); 0 = the end")
	f.BoolVar(&o.NoSparse, "no-sparse", false, "write all-zero blocks as data instead of leaving holes in a regular-file target")
	f.BoolVar(&o.NoTimes, "no-times", false, "do not give the target the source's modification time")
	f.BoolVar(&o.NoPerms, "no-perms", false, "do not give the target the source's permissions")
	f.BoolVar(&o.Owner, "owner", false, "give the target the source's owner and group (the receiving side must run as root)")
	f.BoolVar(&o.Atomic, "atomic", false, "replace the target only at the end (a temporary file beside it, renamed once verified); needs room for both copies unless the filesystem has reflinks; regular files only")
	o.outputOptions.AddFlags(f)
}

// addTimeoutFlags registers push's and pull's --idle-timeout.
func (o *remoteOptions) addTimeoutFlags(f *pflag.FlagSet) {
	f.DurationVar(&o.IdleTimeout, "idle-timeout", agent.DefaultIdleTimeout,
		"give up when the server sends nothing for this long while it is awaited (it died, stopped or is unreachable)")
}

// atomicHint explains a full disk under --atomic, which needs room for two
// copies of the target.
func (o *syncOptions) atomicHint(err error) error {
	if err == nil || !o.Atomic || !strings.Contains(err.Error(), "no space left on device") {
		return err
	}
	return fmt.Errorf("%w (--atomic needs room for the old and the new copy side by side until the rename; the target is unchanged)", err)
}

// checkAtomicTarget refuses --atomic for a local target that is a block
// device: a device cannot be replaced by a rename.
func (o *syncOptions) checkAtomicTarget(path string) error {
	if !o.Atomic || o.DryRun {
		return nil
	}
	if fi, err := os.Stat(path); err == nil && fi.Mode()&fs.ModeDevice != 0 {
		return usageErrorf("--atomic: %s is a device; only a regular file can be replaced atomically (drop --atomic to sync it in place)", path)
	}
	return nil
}

// params turns the flags into engine parameters (Size is left to the
// engine, which takes it from the source).
func (o *syncOptions) params() (engine.Params, error) {
	if o.Concurrency < 1 || o.Concurrency > wire.MaxWorkers {
		return engine.Params{}, usageErrorf("concurrency %d: must be from 1 to %d", o.Concurrency, wire.MaxWorkers)
	}
	if err := o.outputOptions.check(); err != nil {
		return engine.Params{}, err
	}
	bs := int64(o.BlockSize)
	if o.Start%sizeValue(bs) != 0 {
		return engine.Params{}, usageErrorf("--start %d: must be a multiple of the block size %s", o.Start, formatSize(bs))
	}
	if o.End != 0 && o.End < o.Start {
		return engine.Params{}, usageErrorf("--end %d: before --start %d", o.End, o.Start)
	}
	return engine.Params{
		BlockSize: int(o.BlockSize),
		Workers:   o.Concurrency,
		Strong:    engine.StrongHash(o.Hash),
		Codec:     wire.Codec(o.Compress),
		WholeFile: o.WholeFile,
		DryRun:    o.DryRun,
		Start:     int64(o.Start),
		End:       int64(o.End),
		NoSparse:  o.NoSparse,
		NoTimes:   o.NoTimes,
		NoPerms:   o.NoPerms,
		Owner:     o.Owner,
	}, nil
}

// codecValue is --compress.
type codecValue wire.Codec

func (v *codecValue) String() string { return wire.Codec(*v).String() }
func (v *codecValue) Type() string   { return "codec" }
func (v *codecValue) Set(s string) error {
	switch s {
	case "none":
		*v = codecValue(wire.CodecNone)
	case "lz4":
		*v = codecValue(wire.CodecLZ4)
	default:
		return fmt.Errorf("%q: want none or lz4", s)
	}
	return nil
}

// outputOptions decide what a command prints.
type outputOptions struct {
	Verbose  int
	Quiet    bool
	JSON     bool
	Progress progressMode
}

// AddFlags registers -v, -q, --json and --progress.
func (o *outputOptions) AddFlags(f *pflag.FlagSet) {
	f.CountVarP(&o.Verbose, "verbose", "v", "say more (repeat for more detail)")
	f.BoolVarP(&o.Quiet, "quiet", "q", false, "print nothing on success")
	f.BoolVar(&o.JSON, "json", false, "print the result as one JSON object on stdout")
	f.Var(&o.Progress, "progress", "progress bar on stderr: auto (when it is a terminal), always or never")
}

func (o *outputOptions) check() error {
	if o.Quiet && o.Verbose > 0 {
		return usageErrorf("--quiet and --verbose contradict each other")
	}
	return nil
}

// blockSizeValue is a -b flag: engine.ParseBlockSize checks it.
type blockSizeValue int

func (v *blockSizeValue) String() string { return formatSize(int64(*v)) }
func (v *blockSizeValue) Type() string   { return "size" }
func (v *blockSizeValue) Set(s string) error {
	n, err := engine.ParseBlockSize(s)
	if err != nil {
		return err
	}
	*v = blockSizeValue(n)
	return nil
}

// formatSize writes a byte count the way users type it: 1G, 128K, 1000.
func formatSize(n int64) string {
	for _, u := range []struct {
		shift  uint
		suffix string
	}{{40, "T"}, {30, "G"}, {20, "M"}, {10, "K"}} {
		if n >= 1<<u.shift && n%(1<<u.shift) == 0 {
			return fmt.Sprintf("%d%s", n>>u.shift, u.suffix)
		}
	}
	return fmt.Sprint(n)
}

// hashValue is a -m flag.
type hashValue engine.StrongHash

func (v *hashValue) String() string { return engine.StrongHash(*v).String() }
func (v *hashValue) Type() string   { return "hash" }
func (v *hashValue) Set(s string) error {
	h, err := engine.ParseStrongHash(s)
	if err != nil {
		return err
	}
	*v = hashValue(h)
	return nil
}

// sizeValue is a byte count such as 1G or 512M.
type sizeValue int64

func (v *sizeValue) String() string { return formatSize(int64(*v)) }
func (v *sizeValue) Type() string   { return "size" }
func (v *sizeValue) Set(s string) error {
	n, err := engine.ParseSize(s)
	if err != nil {
		return err
	}
	*v = sizeValue(n)
	return nil
}

// progressMode is --progress.
type progressMode string

const (
	progressAuto   progressMode = "auto"
	progressAlways progressMode = "always"
	progressNever  progressMode = "never"
)

func (m *progressMode) String() string {
	if *m == "" {
		return string(progressAuto)
	}
	return string(*m)
}
func (m *progressMode) Type() string { return "when" }
func (m *progressMode) Set(s string) error {
	switch p := progressMode(s); p {
	case progressAuto, progressAlways, progressNever:
		*m = p
		return nil
	}
	return fmt.Errorf("%q: want auto, always or never", s)
}
