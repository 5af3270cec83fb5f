//go:build soak

package main

import "testing"

// The fault tests at full length (make soak): every kill point on both
// sides, over TCP and QUIC, --atomic killed at many points for several
// rounds, every stopped-peer combination.

func TestSoakKillNine(t *testing.T) {
	e := newFaultEnv(t)
	var cases []killCase
	for _, op := range []string{"push", "pull"} {
		for _, sc := range []killScenario{scHashing, scTransfer, scCommit} {
			for _, victim := range []string{"client", "server"} {
				cases = append(cases, killCase{op, sc, victim})
			}
		}
	}
	for round := 0; round < 3; round++ {
		killMatrix(t, e, "tcp", "5s", cases)
	}
	// Over QUIC a killed peer sends nothing at all (no FIN, no reset): the
	// survivor notices by the idle timeout (3 s here).
	killMatrix(t, e, "quic", "3s", cases)
}

func TestSoakAtomicKill(t *testing.T) {
	e := newFaultEnv(t)
	for _, op := range []string{"push", "pull"} {
		atomicKills(t, e, op, []float64{0.02, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.98, 1.0, -1}, 5)
	}
}

func TestSoakStoppedPeer(t *testing.T) {
	e := newFaultEnv(t)
	for _, tr := range []string{"tcp", "quic"} {
		for _, op := range []string{"push", "pull"} {
			for _, stopped := range []string{"client", "server"} {
				stopPeer(t, e, stopCase{tr, op, stopped})
			}
		}
	}
}
