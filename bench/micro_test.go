package bench

import (
	"context"
	"crypto/sha256"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/pdiffagent/pdiffagent/engine"
)

// Micro-benchmarks of the engine through its public API: the hashes of
// both tiers on one default block, and the whole two-tier pipeline over
// its in-memory link (engine.SyncLocal) on a small warm file. Run them
// with `go test -run '^$' -bench . ./bench/`.

func BenchmarkWeakHash1MiB(b *testing.B) {
	buf := make([]byte, engine.DefaultBlockSize)
	fillRandom(buf, 1, 0)
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	for b.Loop() {
		engine.DefaultWeak(buf)
	}
}

func BenchmarkStrongHash1MiB(b *testing.B) {
	buf := make([]byte, engine.DefaultBlockSize)
	fillRandom(buf, 1, 0)
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	for b.Loop() {
		sha256.Sum256(buf)
	}
}

// BenchmarkPipeline syncs a 32 MiB warm file with a share of its 1 MiB
// blocks changed before each run (the mutation is not timed).
func BenchmarkPipeline(b *testing.B) {
	const size = 32 << 20
	dir := b.TempDir()
	src, dst := filepath.Join(dir, "src"), filepath.Join(dir, "dst")
	if err := GenerateRandom(src, size, 1); err != nil {
		b.Fatal(err)
	}
	for _, frac := range []float64{0, 0.1, 1} {
		b.Run(fmt.Sprintf("changed=%.0f%%", frac*100), func(b *testing.B) {
			if err := CopyFile(src, dst); err != nil {
				b.Fatal(err)
			}
			p := engine.Params{Session: engine.Session{BlockSize: engine.DefaultBlockSize, Workers: 2, Strong: engine.SHA256}}
			b.SetBytes(size)
			b.ReportAllocs()
			seed := int64(0)
			for b.Loop() {
				b.StopTimer()
				seed++
				if _, err := Mutate(dst, engine.DefaultBlockSize, frac, Random, seed); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				st, err := engine.SyncLocal(context.Background(), src, dst, p, engine.Options{})
				if err != nil || !st.Verified {
					b.Fatalf("sync: %v, verified %v", err, st.Verified)
				}
			}
		})
	}
}
