//go:build soak

package agent

import (
	"os"
	"testing"
	"time"
)

// TestHostileSoak is the long hostile-client soak (`make soak`); see
// runHostileSoak.
func TestHostileSoak(t *testing.T) {
	d := 2 * time.Minute
	if s := os.Getenv("PDIFF_SOAK_TIME"); s != "" {
		var err error
		if d, err = time.ParseDuration(s); err != nil {
			t.Fatalf("PDIFF_SOAK_TIME: %v", err)
		}
	}
	runHostileSoak(t, d)
}
