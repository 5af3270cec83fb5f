package bench

import (
	"fmt"
	"math/rand/v2"
	"os"
)

// PageLen is the page the Pages pattern rewrites: a database page.
const PageLen = 8 << 10

// MutatePages rewrites pages distinct PageLen-aligned pages of the file at
// path, chosen at random, with random data, and returns how many blocks
// of blockSize bytes now differ (the blocks holding a rewritten page). The
// same seed gives the same pages.
func MutatePages(path string, blockSize int, pages, seed int64) (changed int64, err error) {
	if blockSize <= 0 || pages < 0 {
		return 0, fmt.Errorf("bench: block size %d, pages %d", blockSize, pages)
	}
	return mutateFile(path, func(f *os.File, size int64) (int64, error) {
		return rewritePages(f, size, int64(blockSize), pages, seed)
	})
}

// rewritePages is MutatePages on the open file f of size bytes.
func rewritePages(f *os.File, size, bs, pages, seed int64) (int64, error) {
	if n := size / PageLen; pages > n {
		return 0, fmt.Errorf("bench: %d pages of %d bytes asked, the file holds %d", pages, PageLen, n)
	}
	rng := rand.New(rand.NewPCG(uint64(seed), 0x7061676573))
	buf := make([]byte, PageLen)
	touched := map[int64]bool{}
	for _, pg := range pickDistinct(rng, size/PageLen, pages) {
		randomBytes(rng, buf)
		if _, err := f.WriteAt(buf, pg*PageLen); err != nil {
			return 0, err
		}
		for b := pg * PageLen / bs; b <= (pg*PageLen+PageLen-1)/bs; b++ {
			touched[b] = true
		}
	}
	return int64(len(touched)), nil
}

// replaceBlocks overwrites each listed block wholly with random data.
func replaceBlocks(f *os.File, size, bs int64, blocks []int64, rng *rand.Rand) error {
	buf := make([]byte, bs)
	for _, i := range blocks {
		b := buf[:min(bs, size-i*bs)]
		randomBytes(rng, b)
		if _, err := f.WriteAt(b, i*bs); err != nil {
			return err
		}
	}
	return nil
}

// randomBytes fills b with random bytes from rng.
func randomBytes(rng *rand.Rand, b []byte) {
	for i := 0; i < len(b); i += 8 {
		v := rng.Uint64()
		for j := i; j < min(i+8, len(b)); j++ {
			b[j] = byte(v)
			v >>= 8
		}
	}
}
