package main

import (
	"fmt"
	"io/fs"
	"os"
	"strings"

	"github.com/pdiffagent/pdiffagent/agent"
	"github.com/pdiffagent/pdiffagent/engine"
	"github.com/pdiffagent/pdiffagent/wire"
	"github.com/spf13/pflag"
)

// syncOptions are the flags of every command that runs a sync: sync, push
// and pull. Push and pull embed it and add their own.
type syncOptions struct {
	gridOptions
	refineOptions
	workerOptions
	rangeOptions
	metaOptions
	compressOptions
	readOptions
	outputOptions
	retryOptions
	limitOptions
	cacheOptions
	treeOptions // registered by sync only, so far
	NoCache     bool
	NoRolling   bool
	WholeFile   bool
	DryRun      bool
	Owner       bool
	Atomic      bool
}

// AddFlags registers the sync flags, including the output flags.
func (o *syncOptions) AddFlags(f *pflag.FlagSet) {
	o.gridOptions.AddFlags(f)
	o.refineOptions.AddFlags(f)
	o.workerOptions.AddFlags(f)
	f.BoolVarP(&o.WholeFile, "whole-file", "W", false, "send every block without comparing")
	f.BoolVarP(&o.DryRun, "dry-run", "n", false, "compare and report only; write nothing (exit 3 if the target differs)")
	o.compressOptions.AddFlags(f)
	o.rangeOptions.AddFlags(f)
	o.metaOptions.AddFlags(f)
	o.cacheOptions.AddFlags(f)
	f.BoolVar(&o.NoCache, "no-cache", false, "neither side trusts or keeps a block-hash record: both copies are read and hashed (a local sync compares their bytes instead), and no record is made")
	f.BoolVar(&o.NoRolling, "no-rolling", false, "do not search for moved or inserted data: changed blocks are compared at fixed offsets only")
	f.BoolVar(&o.Owner, "owner", false, "give the target the source's owner and group (the receiving side must run as root)")
	f.BoolVar(&o.Atomic, "atomic", false, "replace the target only at the end (a temporary file beside it, renamed once verified); needs room for both copies unless the filesystem has reflinks; regular files only")
	o.readOptions.AddFlags(f)
	o.outputOptions.AddFlags(f)
	o.retryOptions.AddFlags(f)
	o.limitOptions.AddFlags(f)
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
	if err := o.workerOptions.check(); err != nil {
		return engine.Params{}, err
	}
	if err := o.outputOptions.check(); err != nil {
		return engine.Params{}, err
	}
	if err := o.retryOptions.check(); err != nil {
		return engine.Params{}, err
	}
	if err := o.rangeOptions.check(int64(o.BlockSize), false); err != nil {
		return engine.Params{}, err
	}
	if err := o.refineOptions.check(int(o.BlockSize)); err != nil {
		return engine.Params{}, err
	}
	s := engine.Session{WholeFile: o.WholeFile, DryRun: o.DryRun, Owner: o.Owner, NoCache: o.NoCache, NoRolling: o.NoRolling, MinBlock: int(o.MinBlock)}
	o.gridOptions.apply(&s)
	o.workerOptions.apply(&s)
	o.metaOptions.apply(&s)
	o.compressOptions.apply(&s)
	return engine.Params{Session: s, File: o.rangeOptions.file()}, nil
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
	verbosityOptions
	JSON     bool
	Progress progressMode
}

// AddFlags registers -v, -q, --json and --progress.
func (o *outputOptions) AddFlags(f *pflag.FlagSet) {
	o.verbosityOptions.AddFlags(f)
	f.BoolVar(&o.JSON, "json", false, "print the result as one JSON object on stdout")
	f.Var(&o.Progress, "progress", "progress on stderr: auto (a bar when it is a terminal), always (a bar), lines (a line every few seconds, for logs) or never; a bare --progress means always, a value takes =")
	f.Lookup("progress").NoOptDefVal = string(progressAlways)
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
	progressLines  progressMode = "lines"
)

// progressModes are the values of --progress, for the help and completion.
var progressModes = []string{string(progressAuto), string(progressAlways), string(progressLines), string(progressNever)}

func (m *progressMode) String() string {
	if *m == "" {
		return string(progressAuto)
	}
	return string(*m)
}
func (m *progressMode) Type() string { return "when" }
func (m *progressMode) Set(s string) error {
	switch p := progressMode(s); p {
	case progressAuto, progressAlways, progressLines, progressNever:
		*m = p
		return nil
	}
	return fmt.Errorf("%q: want auto, always, lines or never", s)
}

// transportValue is --transport: tcp or quic.
type transportValue string

func (v *transportValue) String() string { return string(*v) }
func (v *transportValue) Type() string   { return "tcp|quic" }
func (v *transportValue) Set(s string) error {
	switch s {
	case agent.TransportTCP, agent.TransportQUIC:
		*v = transportValue(s)
		return nil
	}
	return fmt.Errorf("%q: want tcp or quic", s)
}
