package bench

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/pdiffagent/pdiffagent/sysio"
)

// writeChunk is the size of the write floor's writes: the engine's runs of
// consecutive blocks (engine writeRunBytes).
const writeChunk = 4 << 20

// FloorWrite times writing n bytes to a scratch file in dir, as a sync
// writes its target: the file allocated first (a replica's blocks exist),
// then written in writeChunk writes through O_DIRECT where the filesystem
// takes it (sysio's default, the engine's), by workers writers each a
// stripe, and flushed with fdatasync. A sync that changes n bytes of its
// target must at least do this to its disk. The file is removed.
func FloorWrite(dir string, n int64, workers int) (time.Duration, error) {
	if n <= 0 {
		return 0, nil
	}
	name := filepath.Join(dir, fmt.Sprintf(".write-floor-%d", os.Getpid()))
	f, err := sysio.Open(name, sysio.Create, sysio.Options{})
	if err != nil {
		return 0, err
	}
	defer os.Remove(name)
	defer f.Close()
	if err := f.Allocate(0, n); err != nil {
		return 0, fmt.Errorf("write floor: %w", err)
	}
	if err := f.SyncData(); err != nil { // the allocation is not what is timed
		return 0, err
	}
	workers = max(workers, 1)
	buf := sysio.AlignedBuffer(writeChunk)
	for i := range buf {
		buf[i] = byte(i*7 + i>>12) // not zeros: a filesystem or device might skip those
	}
	start := time.Now()
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for w := range workers {
		lo, hi := n*int64(w)/int64(workers)/writeChunk*writeChunk, n*int64(w+1)/int64(workers)/writeChunk*writeChunk
		if w == workers-1 {
			hi = n
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for off := lo; off < hi; off += writeChunk {
				if _, err := f.WriteAt(buf[:min(writeChunk, hi-off)], off); err != nil {
					errs[w] = err
					return
				}
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return 0, fmt.Errorf("write floor: %w", err)
		}
	}
	if err := f.SyncData(); err != nil {
		return 0, fmt.Errorf("write floor: %w", err)
	}
	return time.Since(start), nil
}
