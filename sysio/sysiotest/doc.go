// Package sysiotest holds what the tests of every package need from the
// machine, written once: random data, files written and read back,
// directory listings (the replacement temporaries left behind), a
// size-limited tmpfs, a loop device, a goroutine-leak check, a bounded
// wait for a state, and directory trees: MakeTree generates one from a
// TreeSpec (files of given sizes, nesting, symlinks, hard links, empty
// directories, sparse files, odd names; every mtime set, to the
// nanosecond, the same for the same seed), and TreeEqual/TreeDiff compare
// two entry by entry (types, bytes, modes, mtimes of directories and
// symlinks too, symlink targets, hard-link groups, owners if asked). It
// imports only the standard library and golang.org/x/sys/unix, never
// sysio, so sysio's own tests can use it too.
//
// Helpers that need root (Mount, LoopDevice) skip the test, saying why,
// when they cannot have what they need: that is the machine, never its
// speed. Nothing here sleeps to let time pass: WaitUntil polls a condition
// the test names, and fails when it never holds.
package sysiotest
