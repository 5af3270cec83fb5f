package sysio

import (
	"os"

	"golang.org/x/sys/unix"
)

// MknodAt creates the device node name in the directory dir (mknodat
// through the directory's descriptor: name must be a plain name, so
// nothing is made but inside dir), with Mknod's mode and rdev (root only).
func MknodAt(dir *os.File, name string, mode uint32, rdev uint64) error {
	err := ignoringEINTR(func() error { return unix.Mknodat(int(dir.Fd()), name, mode, int(rdev)) })
	if err != nil {
		return &os.PathError{Op: "mknodat", Path: name, Err: err}
	}
	return nil
}
