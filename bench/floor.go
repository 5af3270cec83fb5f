package bench

import (
	"bytes"
	"fmt"
	"math"
	"os"
	"time"

	"crypto/sha512"
	"sync"

	"github.com/pdiffagent/pdiffagent/engine/blake3mb"
	"github.com/pdiffagent/pdiffagent/engine/sha256mb"
)

// readChunk is the read size of FloorRead and Compare.
const readChunk = 1 << 20

// span is a run of equal-sized units of one open file.
type span struct {
	f      *os.File
	size   int64 // of the file
	unit   int64 // bytes per unit
	blocks int64 // units of the file taken part in the work
}

// openSpans opens paths and takes the first round(fraction*blocks) units of
// unit bytes from each. The caller closes the files.
func openSpans(paths []string, unit int64, fraction float64) ([]span, error) {
	var out []span
	for _, p := range paths {
		f, err := os.Open(p)
		if err != nil {
			closeSpans(out)
			return nil, err
		}
		size, err := fileSize(f)
		if err != nil {
			f.Close()
			closeSpans(out)
			return nil, err
		}
		n := int64(math.Round(fraction * float64((size+unit-1)/unit)))
		out = append(out, span{f: f, size: size, unit: unit, blocks: n})
	}
	return out, nil
}

func closeSpans(s []span) {
	for _, x := range s {
		x.f.Close()
	}
}

// forUnits runs fn over every unit of every span, the concatenated units
// split into one contiguous stripe per core. Each stripe gets its own
// buffer of unit bytes, reused for every pread.
func forUnits(spans []span, unit int64, fn func(buf []byte) error) error {
	return forGroups(spans, unit, 1, func(bufs [][]byte) error { return fn(bufs[0]) })
}

// forGroups is forUnits handing fn up to n consecutive units of a stripe
// at once, each in its own buffer.
func forGroups(spans []span, unit int64, n int, fn func(bufs [][]byte) error) error {
	var total int64
	for _, s := range spans {
		total += s.blocks
	}
	return forStripes(total, func(first, end int64) error {
		bufs := make([][]byte, n)
		for i := range bufs {
			bufs[i] = make([]byte, unit)
		}
		group := make([][]byte, 0, n)
		si, base := 0, int64(0)
		for g := first; g < end; g++ {
			for g-base >= spans[si].blocks {
				base += spans[si].blocks
				si++
			}
			s := spans[si]
			off := (g - base) * s.unit
			b := bufs[len(group)][:min(s.unit, s.size-off)]
			if _, err := s.f.ReadAt(b, off); err != nil {
				return fmt.Errorf("bench: read %s at %d: %w", s.f.Name(), off, err)
			}
			if group = append(group, b); len(group) == n || g == end-1 {
				if err := fn(group); err != nil {
					return err
				}
				group = group[:0]
			}
		}
		return nil
	})
}

// FloorName is the strong hash a floor measures for a run's hash (-m;
// "" is the default, sha256).
func FloorName(hash string) string {
	if hash == "" {
		return "sha256"
	}
	return hash
}

var b3Hashers = sync.Pool{New: func() any { return new(blake3mb.Hasher) }}

// FloorStrong times the strong hash (FloorName of hash) over the first
// round(fraction*blocks) blocks of each file on all cores: the work tier 2
// must do on the blocks that match. With both copies' paths and the
// matching fraction it is the engine's speed floor. It hashes as the
// engine does: sha256 sha256mb.Lanes blocks at a time, their rounds
// interleaved where the CPU has the SHA extensions (engine/sha256mb);
// blake3 a block at a time in sixteen lanes where the CPU has AVX-512
// (engine/blake3mb); sha512_256 one block after the other.
func FloorStrong(paths []string, fraction float64, blockSize int, hash string) (time.Duration, error) {
	switch FloorName(hash) {
	case "blake3":
		return floorGroups(paths, fraction, blockSize, 1, func(bufs [][]byte) {
			h := b3Hashers.Get().(*blake3mb.Hasher)
			h.Sum256(bufs[0])
			b3Hashers.Put(h)
		})
	case "sha512_256":
		return floorGroups(paths, fraction, blockSize, 1, func(bufs [][]byte) { sha512.Sum512_256(bufs[0]) })
	}
	return floorGroups(paths, fraction, blockSize, sha256mb.Lanes, func(bufs [][]byte) {
		var sums [sha256mb.Lanes][sha256mb.Size]byte // per stripe: they run at once
		sha256mb.Sum256(sums[:len(bufs)], bufs)
	})
}

// floorGroups times sum over the blocks FloorStrong hashes, in groups of
// up to lanes blocks of a stripe, the stripes at once.
func floorGroups(paths []string, fraction float64, blockSize, lanes int, sum func([][]byte)) (time.Duration, error) {
	if blockSize <= 0 {
		return 0, fmt.Errorf("bench: block size %d", blockSize)
	}
	spans, err := openSpans(paths, int64(blockSize), fraction)
	if err != nil {
		return 0, err
	}
	defer closeSpans(spans)
	start := time.Now()
	err = forGroups(spans, int64(blockSize), lanes, func(bufs [][]byte) error {
		sum(bufs)
		return nil
	})
	return time.Since(start), err
}

// FloorRead times a read of the whole of each file on all cores, in
// readChunk preads: from the page cache when the files are warm.
func FloorRead(paths []string) (time.Duration, error) {
	spans, err := openSpans(paths, readChunk, 1)
	if err != nil {
		return 0, err
	}
	defer closeSpans(spans)
	start := time.Now()
	err = forUnits(spans, readChunk, func([]byte) error { return nil })
	return time.Since(start), err
}

// Compare reports whether the files a and b have the same size and bytes,
// comparing stripes on all cores.
func Compare(a, b string) (bool, error) {
	fa, err := os.Open(a)
	if err != nil {
		return false, err
	}
	defer fa.Close()
	fb, err := os.Open(b)
	if err != nil {
		return false, err
	}
	defer fb.Close()
	sa, err := fileSize(fa)
	if err != nil {
		return false, err
	}
	sb, err := fileSize(fb)
	if err != nil {
		return false, err
	}
	if sa != sb {
		return false, nil
	}
	errDiffer := fmt.Errorf("differ")
	err = forStripes((sa+readChunk-1)/readChunk, func(first, end int64) error {
		ba, bb := make([]byte, readChunk), make([]byte, readChunk)
		for i := first; i < end; i++ {
			off := i * readChunk
			n := min(readChunk, sa-off)
			if _, err := fa.ReadAt(ba[:n], off); err != nil {
				return err
			}
			if _, err := fb.ReadAt(bb[:n], off); err != nil {
				return err
			}
			if !bytes.Equal(ba[:n], bb[:n]) {
				return errDiffer
			}
		}
		return nil
	})
	if err == errDiffer {
		return false, nil
	}
	return err == nil, err
}

// Flush writes back the file's dirty pages (fsync).
func Flush(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
