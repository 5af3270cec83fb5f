//go:build !linux

package sysio

// LowerThreadPriority does nothing where thread priorities are not set
// here (ErrNotSupported).
func LowerThreadPriority() error { return ErrNotSupported }
