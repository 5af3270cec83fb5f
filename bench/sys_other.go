//go:build !linux

package bench

import (
	"errors"
	"os"
	"os/exec"
	"runtime"
)

// Resident returns -1: page-cache residency is measured on Linux only.
func Resident(path string) (float64, error) { return -1, nil }

// PeakRSS returns 0: it is measured on Linux only.
func PeakRSS() int64 { return 0 }

// IsTmpfs returns false: it is detected on Linux only.
func IsTmpfs(dir string) bool { return false }

// Evict fails: it is implemented on Linux only.
func Evict(paths []string) error { return errors.New("bench: --cold is supported on Linux only") }

func childPeakRSS(ps *os.ProcessState) int64 { return 0 }
func kernelRelease() string                  { return runtime.GOOS }
func fsType(dir string) string               { return "" }

func setPdeathsig(cmd *exec.Cmd) {}

// waitExit returns at once: the peak RSS is not polled elsewhere.
func waitExit(pid int) {}

func ownCPUSeconds() float64 { return 0 }
