//go:build unix

package engine

import (
	"crypto/rand"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/pdiffagent/pdiffagent/sysio"
	"github.com/pdiffagent/pdiffagent/wire"
)

// readPathSpan is how much of a page-cached file each read-path benchmark
// cycles through: far more than a batch window, small enough to stay cached.
const readPathSpan = 256 << 20

// BenchmarkReadPath hashes page-cached 1 MiB blocks with xxhash64, as the
// tier-1 pass does, read the ways the engine can read them: mapped one
// 4 MiB batch at a time (mmap), with pread into a reused pooled buffer
// (pread), and with O_DIRECT pread (direct, from the disk by construction).
// It is the measurement behind the default read path (engine/doc.go):
//
//	go test -run '^$' -bench ReadPath -benchtime 2s ./engine
func BenchmarkReadPath(b *testing.B) {
	path := filepath.Join(b.TempDir(), "f")
	chunk := make([]byte, batchBytes)
	rand.Read(chunk)
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	for off := 0; off < readPathSpan; off += len(chunk) {
		if _, err := f.Write(chunk); err != nil {
			b.Fatal(err)
		}
	}
	f.Close()
	for _, c := range []struct {
		name string
		opt  Options
	}{
		{"mmap", Options{ReadPath: ReadMmap}},
		{"pread", Options{ReadPath: ReadPread}},
		{"direct", Options{ReadPath: ReadPread, Direct: sysio.DirectOn}},
	} {
		b.Run(c.name, func(b *testing.B) { benchReadPath(b, path, c.opt, 1) })
		// As in a sync: both sides' workers read at once in one process,
		// where mapping and unmapping contend for the address space.
		b.Run(c.name+"/x4", func(b *testing.B) { benchReadPath(b, path, c.opt, 4) })
	}
}

func benchReadPath(b *testing.B, path string, opt Options, goroutines int) {
	sf, err := sysio.Open(path, sysio.ReadOnly, sysio.Options{Direct: opt.Direct})
	if err != nil {
		b.Fatal(err)
	}
	defer sf.Close()
	if opt.Direct == sysio.DirectOn && !sf.Direct() {
		b.Skip("the filesystem refuses O_DIRECT")
	}
	p, _ := Params{Session: Session{Workers: 1}}.Bind(readPathSpan)
	per := int64(batchBlocks(p.BlockSize))
	blocks := p.Blocks()
	b.SetBytes(int64(p.BlockSize) * per)
	b.ReportAllocs()
	var next atomic.Int64
	defer reportCPU(b, cpuTime(), int64(p.BlockSize)*per)
	b.SetParallelism(max(1, goroutines/runtime.GOMAXPROCS(0)))
	if goroutines == 1 {
		hashBatches(b, sf, p, opt, func() bool { return b.Loop() }, func() int64 { return next.Add(per) % blocks })
		return
	}
	b.RunParallel(func(pb *testing.PB) {
		hashBatches(b, sf, p, opt, pb.Next, func() int64 { return next.Add(per) % blocks })
	})
}

// hashBatches hashes the batches at the offsets first gives while more says so.
func hashBatches(b *testing.B, sf *sysio.File, p Params, opt Options, more func() bool, first func() int64) {
	per := int64(batchBlocks(p.BlockSize))
	buf := getBuf(p.BlockSize, p.BlockSize)
	defer putBuf(p.BlockSize, buf)
	var sink uint64
	for more() {
		first := first()
		view := mapBlocks(sf, p, opt, p.Size, first, per)
		if (view != nil) != (opt.ReadPath == ReadMmap && opt.Direct != sysio.DirectOn) {
			b.Errorf("%+v: mapped %v", opt, view != nil)
			return
		}
		for blk := first; blk < first+per; blk++ {
			if view != nil {
				if err := sysio.Guard(func() { sink += DefaultWeak(view.block(blk, p.BlockSize)) }); err != nil {
					b.Error(err)
					return
				}
				continue
			}
			if _, err := sf.ReadAt(buf, blk*int64(p.BlockSize)); err != nil {
				b.Error(err)
				return
			}
			sink += DefaultWeak(buf)
		}
		view.close()
	}
	_ = sink
}

// cpuTime is the process's user and system CPU time so far. On a loaded
// shared machine CPU time per byte is steadier than wall time per byte.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// reportCPU reports the CPU time spent since start per GB of b.N ops of
// opBytes each, and the GB hashed per CPU-second.
func reportCPU(b *testing.B, start time.Duration, opBytes int64) {
	gb, cpu := float64(b.N)*float64(opBytes)/1e9, (cpuTime() - start).Seconds()
	if gb > 0 && cpu > 0 {
		b.ReportMetric(cpu/gb, "cpu-s/GB")
		b.ReportMetric(gb/cpu, "GB/cpu-s")
	}
}

// BenchmarkStrong is the per-core speed of each tier-2 hash on 1 MiB
// blocks (README, Performance); on a loaded machine its GB/cpu-s is the
// steadier figure:
//
//	go test -run '^$' -bench Strong -cpu 1 ./engine
func BenchmarkStrong(b *testing.B) {
	buf := randBytes(3, 1<<20)
	for _, h := range []StrongHash{SHA256, BLAKE3, SHA512_256} {
		b.Run(h.String(), func(b *testing.B) {
			s, err := newStrongHasher(h)
			if err != nil {
				b.Fatal(err)
			}
			b.SetBytes(int64(len(buf)))
			b.ReportAllocs()
			defer reportCPU(b, cpuTime(), int64(len(buf)))
			for b.Loop() {
				s.sum(buf)
			}
		})
		for _, sub := range []int{4 << 10, 8 << 10, 16 << 10} { // refinement's sub-blocks
			b.Run(fmt.Sprintf("%s/%dK", h, sub>>10), func(b *testing.B) {
				s, err := newStrongHasher(h)
				if err != nil {
					b.Fatal(err)
				}
				b.SetBytes(int64(len(buf)))
				b.ReportAllocs()
				defer reportCPU(b, cpuTime(), int64(len(buf)))
				for b.Loop() {
					for j := 0; j < len(buf); j += sub {
						s.sum(buf[j : j+sub])
					}
				}
			})
		}
		// As the engine hashes: a batch's blocks, or a refined block's
		// sub-blocks, together (strongHasher.sums; sha256mb's lanes).
		for _, sub := range []int{4 << 10, 1 << 20} {
			b.Run(fmt.Sprintf("%s/sums/%dK", h, sub>>10), func(b *testing.B) {
				s, err := newStrongHasher(h)
				if err != nil {
					b.Fatal(err)
				}
				bufs := [][]byte{buf, randBytes(4, 1<<20), randBytes(5, 1<<20), randBytes(6, 1<<20)}
				var parts [][]byte
				for _, x := range bufs {
					for j := 0; j < len(x); j += sub {
						parts = append(parts, x[j:j+sub])
					}
				}
				out := make([][wire.StrongSize]byte, len(parts))
				b.SetBytes(int64(4 * len(buf)))
				b.ReportAllocs()
				defer reportCPU(b, cpuTime(), int64(4*len(buf)))
				for b.Loop() {
					s.sums(out, parts)
				}
			})
		}
	}
}
