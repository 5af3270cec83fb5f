// Package sysiotest holds what the tests of every package need from the
// machine, written once: random data, files written and read back,
// directory listings (the replacement temporaries left behind), a
// size-limited tmpfs, a loop device, a goroutine-leak check and a bounded
// wait for a state. It imports only the standard library, so sysio's own
// tests can use it too.
//
// Helpers that need root (Mount, LoopDevice) skip the test, saying why,
// when they cannot have what they need: that is the machine, never its
// speed. Nothing here sleeps to let time pass: WaitUntil polls a condition
// the test names, and fails when it never holds.
package sysiotest
