//go:build race

package agent

// raceEnabled: this test binary runs under the race detector, whose shadow
// memory multiplies a process's RSS (2-10x), so RSS bounds are meaningless.
const raceEnabled = true
