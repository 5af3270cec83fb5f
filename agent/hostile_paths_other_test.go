//go:build !linux

package agent

import "testing"

// addSpecialFiles: FIFOs and devices are made only on Linux.
func addSpecialFiles(t testing.TB, root string, denied map[string]string) map[string]string {
	return denied
}
