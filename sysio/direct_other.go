//go:build !linux

package sysio

import "os"

// openDirect: no O_DIRECT outside Linux.
func openDirect(f *os.File, path string) *os.File { return nil }

// isWritable is only consulted for O_DIRECT.
func isWritable(f *os.File) bool { return false }

// preadDirect is never called: there is no direct descriptor.
func preadDirect(fd int, p []byte, off int64) (int, error) { return 0, errDirectRefused }

// pwriteDirect is never called: there is no direct descriptor.
func pwriteDirect(fd int, p []byte, off int64) (int, error) { return 0, errDirectRefused }

// pwritevDirect is never called: there is no direct descriptor.
func pwritevDirect(fd int, bufs [][]byte, off int64) (int, error) { return 0, errDirectRefused }
