//go:build unix

package agent

import (
	"io/fs"
	"os"
	"syscall"
	"time"

	"github.com/pdiffagent/pdiffagent/wire"
	"golang.org/x/sys/unix"
)

// lutimesAt sets the mtime (and atime) of dir's entry name without
// following it.
func lutimesAt(dir *os.File, name string, mt time.Time) error {
	ts := unix.NsecToTimespec(mt.UnixNano())
	for {
		err := unix.UtimesNanoAt(int(dir.Fd()), name, []unix.Timespec{ts, ts}, unix.AT_SYMLINK_NOFOLLOW)
		if err != unix.EINTR {
			return err
		}
	}
}

// statIDs fills the owner, link count and identity of a tree entry.
func statIDs(fi fs.FileInfo, e *wire.TreeEntry) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return
	}
	e.Uid, e.Gid = st.Uid, st.Gid
	e.Nlink, e.Dev, e.Ino, e.Rdev = uint64(st.Nlink), uint64(st.Dev), uint64(st.Ino), uint64(st.Rdev)
}

// deviceMode is the device mode m as mknod(2) wants it: its kind and
// permission bits.
func deviceMode(m fs.FileMode) uint32 {
	u := uint32(m.Perm())
	if m&fs.ModeCharDevice != 0 {
		return u | syscall.S_IFCHR
	}
	return u | syscall.S_IFBLK
}
