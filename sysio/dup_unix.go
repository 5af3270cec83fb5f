//go:build unix

package sysio

import (
	"os"
	"syscall"
)

// Dup returns a File on a duplicate of f's descriptor: the same open file,
// kept open after f is closed (a deferred record commit takes the
// file's identity later: cache.Deferred). It never uses O_DIRECT.
func (f *File) Dup() (*File, error) {
	fd, err := syscall.Dup(int(f.f.Fd()))
	f.keepAlive()
	if err != nil {
		return nil, os.NewSyscallError("dup", err)
	}
	syscall.CloseOnExec(fd)
	return newFile(os.NewFile(uintptr(fd), f.name), "", Options{Direct: DirectOff})
}
