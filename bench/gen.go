package bench

import (
	"encoding/binary"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"runtime"
	"sync"

	"github.com/pdiffagent/pdiffagent/sysio"
)

// genChunk is the unit of GenerateRandom: chunk i is filled by a ChaCha8
// stream seeded from (seed, i), so the output depends only on seed and size,
// not on the number of cores.
const genChunk = 4 << 20

// GenerateRandom writes size bytes of pseudo-random data determined by seed
// to path, replacing any file there (a block device is overwritten from its
// start). Chunks are generated and written on all cores, in large aligned
// writes that sysio sends with O_DIRECT where the filesystem allows: on
// this VM buffered writes into fresh page cache are slow and erratic, and
// the data need not stay cached.
func GenerateRandom(path string, size int64, seed int64) error {
	if size < 0 {
		return fmt.Errorf("bench: negative size %d", size)
	}
	f, err := createSized(path, size)
	if err != nil {
		return err
	}
	chunks := (size + genChunk - 1) / genChunk
	err = forStripes(chunks, func(first, end int64) error {
		buf := sysio.AlignedBuffer(genChunk)
		for i := first; i < end; i++ {
			n := min(genChunk, size-i*genChunk)
			fillRandom(buf[:n], seed, i)
			if _, err := f.WriteAt(buf[:n], i*genChunk); err != nil {
				return err
			}
		}
		return nil
	})
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// fillRandom fills b from the ChaCha8 stream of (seed, chunk).
func fillRandom(b []byte, seed, chunk int64) {
	var key [32]byte
	binary.LittleEndian.PutUint64(key[0:], uint64(seed))
	binary.LittleEndian.PutUint64(key[8:], uint64(chunk))
	copy(key[16:], "pdiffagent-bench")
	rand.NewChaCha8(key).Read(b)
}

// CopyFile copies src to dst, replacing dst, in large aligned chunks on all
// cores (written with O_DIRECT where the filesystem allows, like
// GenerateRandom).
func CopyFile(src, dst string) (err error) {
	in, err := sysio.Open(src, sysio.ReadOnly, sysio.Options{})
	if err != nil {
		return err
	}
	defer in.Close()
	size, err := in.Size()
	if err != nil {
		return err
	}
	out, err := createSized(dst, size)
	if err != nil {
		return err
	}
	err = forStripes((size+genChunk-1)/genChunk, func(first, end int64) error {
		buf := sysio.AlignedBuffer(genChunk)
		for i := first; i < end; i++ {
			b := buf[:min(genChunk, size-i*genChunk)]
			if _, err := in.ReadAt(b, i*genChunk); err != nil {
				return err
			}
			if _, err := out.WriteAt(b, i*genChunk); err != nil {
				return err
			}
		}
		return nil
	})
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	return err
}

// createSized opens path for writing, creating it if needed; a regular
// file is emptied and its size space allocated, a device is left as is.
func createSized(path string, size int64) (*sysio.File, error) {
	f, err := sysio.Open(path, sysio.Create, sysio.Options{})
	if err != nil {
		return nil, err
	}
	if !f.IsDevice() {
		err = f.Truncate(0)
		if err == nil {
			err = f.Allocate(0, size)
		}
		if err != nil {
			f.Close()
			return nil, err
		}
	}
	return f, nil
}

// forStripes splits [0, n) into runtime.NumCPU() contiguous stripes and runs
// fn on each in its own goroutine. It returns the first error.
func forStripes(n int64, fn func(first, end int64) error) error {
	k := int64(runtime.NumCPU())
	var (
		wg    sync.WaitGroup
		once  sync.Once
		first error
	)
	for w := range k {
		a, b := n*w/k, n*(w+1)/k
		if a == b {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := fn(a, b); err != nil {
				once.Do(func() { first = err })
			}
		}()
	}
	wg.Wait()
	return first
}

// fileSize is the size of an open file or block device (stat reports 0 for
// a device, so seek to the end instead).
func fileSize(f *os.File) (int64, error) {
	return f.Seek(0, io.SeekEnd)
}
