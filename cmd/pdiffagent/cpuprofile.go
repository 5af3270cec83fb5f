package main

import (
	"os"
	"runtime/pprof"

	"github.com/spf13/cobra"
)

// addCPUProfile gives every command the hidden --cpuprofile FILE: a CPU
// profile of the whole command (go tool pprof), for profiling the
// commands a user runs (a tree push's client) rather than a bench's
// child ends (their --cpu-profile).
func addCPUProfile(root *cobra.Command) {
	var path string
	var f *os.File
	root.PersistentFlags().StringVar(&path, "cpuprofile", "", "write a CPU profile of the command here")
	root.PersistentFlags().MarkHidden("cpuprofile")
	root.PersistentPreRunE = func(*cobra.Command, []string) error {
		if path == "" {
			return nil
		}
		var err error
		if f, err = os.Create(path); err != nil {
			return err
		}
		return pprof.StartCPUProfile(f)
	}
	root.PersistentPostRun = func(*cobra.Command, []string) { stopCPUProfile(&f) }
	cobra.OnFinalize(func() { stopCPUProfile(&f) }) // also after a command that failed
}

func stopCPUProfile(f **os.File) {
	if *f != nil {
		pprof.StopCPUProfile()
		(*f).Close()
		*f = nil
	}
}
