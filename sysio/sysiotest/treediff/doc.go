// Package treediff compares two directory trees: entries, types, bytes,
// modes, mtimes, symlink targets, hard-link groups and owners. It is kept
// apart from sysiotest, which imports package testing, so that the bench
// (part of the shipped binary) can verify a tree sync without linking it.
package treediff
