//go:build !linux

package bench

// Resident returns -1: page-cache residency is measured on Linux only.
func Resident(path string) (float64, error) { return -1, nil }

// PeakRSS returns 0: it is measured on Linux only.
func PeakRSS() int64 { return 0 }

// IsTmpfs returns false: it is detected on Linux only.
func IsTmpfs(dir string) bool { return false }
