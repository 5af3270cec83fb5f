package cache

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"time"

	"github.com/pdiffagent/pdiffagent/sysio"
)

// clock is where settle reads the time; tests replace it to hold the
// racy window open.
var clock = struct {
	now   func() int64
	gran  func() time.Duration
	sleep func(time.Duration)
}{sysio.CoarseNow, sysio.TimestampGranularity, time.Sleep}

// settle returns the identities of files, taken once the racy window of
// every one has passed: the coarse clock (which stamps inodes) is at least
// one timestamp granule past each file's ctime. (Only ctime: mtime is
// whatever the last utimes said, often the source's, and may lie in the
// future.) A write made
// after settle returns therefore gets a ctime different from the one
// returned, even if it lands in the same tick as the file's last change
// (git's racily clean index entry). Identities are taken again after the
// wait and the wait is repeated if any moved meanwhile.
func settle(files []*sysio.File) ([]sysio.Identity, error) {
	ids := make([]sysio.Identity, len(files))
	for range 100 {
		var until int64
		for i, f := range files {
			id, err := f.Identity()
			if err != nil {
				return nil, err
			}
			ids[i] = id
			until = max(until, id.Ctime+granule(id))
		}
		if until-clock.now() > maxSettle {
			return nil, fmt.Errorf("cache: file ctime is ahead of the clock (was the clock set back?)")
		}
		for {
			now := clock.now()
			if now >= until {
				break
			}
			clock.sleep(time.Duration(until - now))
		}
		same := true
		for i, f := range files {
			id, err := f.Identity()
			if err != nil {
				return nil, err
			}
			same = same && id == ids[i]
			ids[i] = id
		}
		if same {
			return ids, nil
		}
	}
	return nil, fmt.Errorf("cache: files keep changing while their identity is taken")
}

// Settle returns f's identity once its racy window has passed (see
// settle): a write made after Settle returns changes it.
func Settle(f *sysio.File) (sysio.Identity, error) {
	ids, err := settle([]*sysio.File{f})
	if err != nil {
		return sysio.Identity{}, err
	}
	return ids[0], nil
}

// maxSettle bounds the wait: a ctime further ahead of the clock than this
// means the clock was set back, and no identity taken now can be trusted.
const maxSettle = int64(3 * time.Second)

// granule is how coarse the file's timestamps are: the clock's tick, or a
// whole second when both timestamps are whole seconds (a filesystem that
// stores seconds only, such as ext4 with 128-byte inodes).
func granule(id sysio.Identity) int64 {
	g := int64(clock.gran())
	if id.Ctime%int64(time.Second) == 0 && id.Mtime%int64(time.Second) == 0 {
		g = max(g, int64(time.Second))
	}
	return g
}

// fingerprintSamples and fingerprintBlock shape a device fingerprint.
const (
	fingerprintSamples = 8
	fingerprintBlock   = 4096
)

// fingerprint digests a few blocks sampled across a device (its first and
// last blocks and six between), so that a volume deleted and recreated
// under the same device number, or rewritten by another tool, is not
// taken for the one a record was made of.
func fingerprint(f *sysio.File, size int64) ([fpSize]byte, error) {
	h := sha256.New()
	var hdr [16]byte
	binary.LittleEndian.PutUint64(hdr[:], uint64(size))
	h.Write(hdr[:8])
	buf := sysio.AlignedBuffer(fingerprintBlock)
	last := max(size-fingerprintBlock, 0) / fingerprintBlock
	for i := range int64(fingerprintSamples) {
		off := last * i / (fingerprintSamples - 1) * fingerprintBlock
		n := min(int64(fingerprintBlock), size-off)
		if n <= 0 {
			break
		}
		if _, err := f.ReadAt(buf[:n], off); err != nil {
			return [fpSize]byte{}, err
		}
		binary.LittleEndian.PutUint64(hdr[8:], uint64(off))
		h.Write(hdr[8:])
		h.Write(buf[:n])
	}
	var out [fpSize]byte
	h.Sum(out[:0])
	return out, nil
}
