//go:build soak

package agent

import (
	"os"
	"testing"
	"time"
)

// TestSoak is the long soak (`make soak`): four clients, 16 MiB files,
// rounds until PDIFF_SOAK_TIME (default 2m) has passed. See runSoak.
func TestSoak(t *testing.T) {
	d := 2 * time.Minute
	if s := os.Getenv("PDIFF_SOAK_TIME"); s != "" {
		var err error
		if d, err = time.ParseDuration(s); err != nil {
			t.Fatalf("PDIFF_SOAK_TIME: %v", err)
		}
	}
	runSoak(t, soakConfig{clients: 4, rounds: 1000, maxTime: d, size: 16<<20 + 4321, blockSize: 64 << 10, workers: 4})
}
