package main

import (
	"github.com/pdiffagent/pdiffagent/engine"
	"github.com/pdiffagent/pdiffagent/sysio"
	"github.com/spf13/pflag"
)

// readOptions choose how this side reads the blocks it hashes: the flags
// of sync, push, pull and listen.
type readOptions struct {
	ReadPath   readPathValue
	DirectRead bool
}

// AddFlags registers --read-path and --direct-read.
func (o *readOptions) AddFlags(f *pflag.FlagSet) {
	f.Var(&o.ReadPath, "read-path", "how blocks are read for hashing: pread (into pooled buffers; the default, measured faster here) or mmap (in place, through read-only mappings)")
	f.BoolVar(&o.DirectRead, "direct-read", false, "read with O_DIRECT, bypassing the page cache (for cold files larger than memory; where the filesystem refuses it, read buffered and drop what was read from the cache)")
}

// apply sets the read options of eo.
func (o *readOptions) apply(eo *engine.Options) {
	eo.ReadPath = engine.ReadPath(o.ReadPath)
	if o.DirectRead {
		eo.Direct = sysio.DirectOn
	}
}

// args are the flags that give a child process the same read options.
func (o *readOptions) args() []string {
	a := []string{"--read-path", engine.ReadPath(o.ReadPath).String()}
	if o.DirectRead {
		a = append(a, "--direct-read")
	}
	return a
}

// String says how files are read, for a report.
func (o *readOptions) String() string {
	if o.DirectRead {
		return "O_DIRECT pread" // no mapping bypasses the cache
	}
	return engine.ReadPath(o.ReadPath).String()
}

// readPathValue is --read-path.
type readPathValue engine.ReadPath

func (v *readPathValue) String() string { return engine.ReadPath(*v).String() }
func (v *readPathValue) Type() string   { return "pread|mmap" }
func (v *readPathValue) Set(s string) error {
	r, err := engine.ParseReadPath(s)
	if err != nil {
		return err
	}
	*v = readPathValue(r)
	return nil
}
