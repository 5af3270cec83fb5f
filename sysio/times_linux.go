package sysio

import (
	"fmt"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// SetModTime sets the file's access and modification times to t through
// its descriptor, so it works whatever path the file was opened by.
func (f *File) SetModTime(t time.Time) error {
	ts := unix.NsecToTimespec(t.UnixNano())
	path := fmt.Sprintf("/proc/self/fd/%d", f.f.Fd())
	err := unix.UtimesNanoAt(unix.AT_FDCWD, path, []unix.Timespec{ts, ts}, 0)
	f.keepAlive()
	if err != nil {
		return &os.PathError{Op: "utimensat", Path: f.name, Err: err}
	}
	return nil
}
