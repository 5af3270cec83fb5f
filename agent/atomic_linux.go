//go:build linux

package agent

import (
	"os"
	"path"

	"golang.org/x/sys/unix"
)

// openDir opens the directory of rel beneath the root, for reading (an
// atomic push creates, renames and fsyncs relative to it).
func (j *jail) openDir(rel string) (*os.File, error) {
	dir := path.Dir(rel)
	fd, err := j.openat(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, jailOpenError(rel, openCreate, err)
	}
	return os.NewFile(uintptr(fd), dir), nil
}
