//go:build !linux

package sysio

import "os"

// syncData falls back to a full sync (fsync) where fdatasync is not used.
func syncData(f *os.File) error { return f.Sync() }

// dropCache only syncs: there is no portable posix_fadvise here.
func dropCache(f *os.File) error { return f.Sync() }

// adviseSequential is a no-op on this platform.
func adviseSequential(f *os.File, off, n int64) {}

// adviseDontNeed is a no-op on this platform.
func adviseDontNeed(f *os.File, off, n int64) {}

func adviseHuge(b []byte) {}

// adviseRandom is a no-op on this platform.
func adviseRandom(f *os.File) {}

// preadCached reads nothing here: the caller's pread reads it all.
func preadCached(f *os.File, p []byte, off int64) int { return 0 }

// startWriteback does nothing here: fsync writes everything.
func startWriteback(f *os.File, off, n int64) {}
