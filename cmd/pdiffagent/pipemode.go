package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"

	"github.com/pdiffagent/pdiffagent/engine"
	"github.com/spf13/pflag"
)

// pipeModeHelp is the part of checksum's, retrieve's and save's help that
// explains the pipeline.
const pipeModeHelp = `Pipe mode syncs over any byte pipe (ssh, netcat, a serial line), with no
daemon on either side:

  pdiffagent checksum DST | ssh src pdiffagent retrieve SRC | pdiffagent save DST

checksum hashes the old copy and decides the block size, hash and range;
retrieve compares the source with those hashes and streams the blocks that
differ; save writes them, re-reads the range and checks an end-to-end
digest before it fsyncs. A pipe cut mid-way leaves the target partly
updated: save says so, and running the pipeline again repairs it.`

// pipeOptions are the flags every pipe-mode command has.
type pipeOptions struct {
	workerOptions
	verbosityOptions
	limitOptions
}

// AddFlags registers -c, -v, -q, --bwlimit (the stage's stdin and stdout)
// and --io-limit.
func (o *pipeOptions) AddFlags(f *pflag.FlagSet) {
	o.workerOptions.AddFlags(f)
	o.verbosityOptions.AddFlags(f)
	o.limitOptions.AddFlags(f)
}

// engineOptions are the stage's --io-limit.
func (o *pipeOptions) engineOptions() engine.Options {
	return engine.Options{ReadLimit: o.IOLimit.rate(pipeChunk)}
}

func (o *pipeOptions) check() error {
	if err := o.workerOptions.check(); err != nil {
		return err
	}
	return o.verbosityOptions.check()
}

// checkPipes refuses a terminal where a stage expects a binary stream:
// stdin when from names the stage that should feed it, stdout when to
// names the stage it should feed.
func checkPipes(from, to string) error {
	if from != "" && isTerminal(os.Stdin) {
		return usageErrorf("refusing to read binary data from a terminal; pipe `pdiffagent %s` into it", from)
	}
	if to != "" && isTerminal(os.Stdout) {
		return usageErrorf("refusing to write binary data to a terminal; pipe it into `pdiffagent %s`", to)
	}
	return nil
}

// printJSONTo writes v as one line of JSON.
func printJSONTo(w io.Writer, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // plain numbers and strings always encode
	}
	fmt.Fprintf(w, "%s\n", b)
}
