package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"runtime"

	"github.com/pdiffagent/pdiffagent/wire"
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
	Concurrency int
	Verbose     int
	Quiet       bool
}

// AddFlags registers -c, -v and -q.
func (o *pipeOptions) AddFlags(f *pflag.FlagSet) {
	f.IntVarP(&o.Concurrency, "concurrency", "c", runtime.NumCPU(), fmt.Sprintf("workers reading and hashing in parallel, 1 to %d", wire.MaxWorkers))
	f.CountVarP(&o.Verbose, "verbose", "v", "say more, on stderr")
	f.BoolVarP(&o.Quiet, "quiet", "q", false, "print nothing on success")
}

func (o *pipeOptions) check() error {
	if o.Concurrency < 1 || o.Concurrency > wire.MaxWorkers {
		return usageErrorf("concurrency %d: must be from 1 to %d", o.Concurrency, wire.MaxWorkers)
	}
	if o.Quiet && o.Verbose > 0 {
		return usageErrorf("--quiet and --verbose contradict each other")
	}
	return nil
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
