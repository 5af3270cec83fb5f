package sysio

import (
	"testing"
)

const (
	benchBlock = 1 << 20
	benchSpan  = 64 << 20 // bytes cycled through by each benchmark
)

// BenchmarkReadAt1MiB reads 1 MiB blocks of a file that sits in the page
// cache (buffered), and with DirectOn for comparison.
func BenchmarkReadAt1MiB(b *testing.B) {
	for _, c := range []struct {
		name string
		mode DirectMode
	}{{"buffered", DirectOff}, {"direct", DirectOn}} {
		b.Run(c.name, func(b *testing.B) {
			f := create(b, b.TempDir(), Options{Direct: c.mode})
			p := AlignedBuffer(benchBlock)
			for off := int64(0); off < benchSpan; off += benchBlock {
				if _, err := f.WriteAt(p, off); err != nil {
					b.Fatal(err)
				}
			}
			b.SetBytes(benchBlock)
			b.ReportAllocs()
			off := int64(0)
			for b.Loop() {
				if _, err := f.ReadAt(p, off); err != nil {
					b.Fatal(err)
				}
				off = (off + benchBlock) % benchSpan
			}
		})
	}
}

// BenchmarkWriteAt1MiB writes 1 MiB aligned blocks, through O_DIRECT
// (DirectAuto) and through the page cache (DirectOff).
func BenchmarkWriteAt1MiB(b *testing.B) {
	for _, c := range []struct {
		name string
		mode DirectMode
	}{{"direct", DirectAuto}, {"buffered", DirectOff}} {
		b.Run(c.name, func(b *testing.B) {
			f := create(b, b.TempDir(), Options{Direct: c.mode})
			if c.mode != DirectOff && !f.Direct() {
				b.Skip("filesystem refuses O_DIRECT")
			}
			p := AlignedBuffer(benchBlock)
			pattern(p, 3)
			b.SetBytes(benchBlock)
			b.ReportAllocs()
			off := int64(0)
			for b.Loop() {
				if _, err := f.WriteAt(p, off); err != nil {
					b.Fatal(err)
				}
				off = (off + benchBlock) % benchSpan
			}
		})
	}
}
