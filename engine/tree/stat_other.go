//go:build !unix

package tree

import "io/fs"

// sysStat has nothing to add where the platform has no unix stat.
func sysStat(fi fs.FileInfo, e *Entry) {}

// unixMode: devices are not created here (sysio.Mknod is not supported).
func unixMode(m fs.FileMode) uint32 { return uint32(m.Perm()) }
