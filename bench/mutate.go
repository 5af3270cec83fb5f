package bench

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"slices"
)

// Pattern is how Mutate changes a file.
type Pattern int

// Mutation patterns.
const (
	// Random changes exactly round(fraction*blocks) distinct blocks chosen
	// at random.
	Random Pattern = iota
	// Prefix changes the first round(fraction*blocks) blocks.
	Prefix
	// Insert inserts InsertLen random bytes at a random offset inside the
	// first block, shifting the rest: the file grows and every block from
	// the insertion on moves. fraction is ignored.
	Insert
	// Blocks replaces round(fraction*blocks) distinct blocks chosen at
	// random wholly with random data.
	Blocks
	// Pages rewrites a number of random PageLen-aligned pages with random
	// data (MutatePages), as a database does between two syncs.
	Pages
)

// InsertLen is the number of bytes the Insert pattern adds.
const InsertLen = 4 << 10

// mutateLen is how many bytes Random and Prefix change in each block.
const mutateLen = 8

var patternNames = []string{Random: "random", Prefix: "prefix", Insert: "insert", Blocks: "blocks", Pages: "pages"}

func (p Pattern) String() string {
	if p >= 0 && int(p) < len(patternNames) {
		return patternNames[p]
	}
	return fmt.Sprintf("pattern(%d)", int(p))
}

// ParsePattern reads "random", "prefix", "insert", "blocks" or "pages".
func ParsePattern(s string) (Pattern, error) {
	if i := slices.Index(patternNames, s); i >= 0 {
		return Pattern(i), nil
	}
	return 0, fmt.Errorf("pattern %q: want random, prefix, insert, blocks or pages", s)
}

// Mutate changes the file at path in place, block by block, and returns how
// many blocks (of blockSize bytes, the last one possibly short) now differ
// from what was there before. Random and Prefix XOR a few bytes of each
// chosen block with non-zero values, so each chosen block certainly changes
// and no other does; Blocks overwrites each chosen block with random data
// (which differs from the old with overwhelming likelihood). For Insert the count is every block from the one
// holding the insertion to the new end, which is exact for random data.
// The same seed gives the same mutation.
func Mutate(path string, blockSize int, fraction float64, pattern Pattern, seed int64) (changed int64, err error) {
	if blockSize <= 0 {
		return 0, fmt.Errorf("bench: block size %d", blockSize)
	}
	if pattern != Insert && (fraction < 0 || fraction > 1 || math.IsNaN(fraction)) {
		return 0, fmt.Errorf("bench: fraction %v out of range 0..1", fraction)
	}
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return 0, err
	}
	defer func() {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}()
	size, err := fileSize(f)
	if err != nil {
		return 0, err
	}
	rng := rand.New(rand.NewPCG(uint64(seed), 0x70646966666167))
	bs := int64(blockSize)
	blocks := (size + bs - 1) / bs
	k := int64(math.Round(fraction * float64(blocks)))
	switch pattern {
	case Random:
		return k, flipBlocks(f, size, bs, pickDistinct(rng, blocks, k), rng)
	case Prefix:
		idx := make([]int64, k)
		for i := range idx {
			idx[i] = int64(i)
		}
		return k, flipBlocks(f, size, bs, idx, rng)
	case Insert:
		return insert(f, size, bs, rng)
	case Blocks:
		return k, replaceBlocks(f, size, bs, pickDistinct(rng, blocks, k), rng)
	case Pages:
		return 0, fmt.Errorf("bench: the pages pattern takes a count of pages: MutatePages")
	}
	return 0, fmt.Errorf("bench: unknown %v", pattern)
}

// pickDistinct returns k distinct numbers from [0, n) in increasing order
// (Floyd's algorithm: O(k) time and space whatever n is).
func pickDistinct(rng *rand.Rand, n, k int64) []int64 {
	set := make(map[int64]struct{}, k)
	for j := n - k; j < n; j++ {
		t := rng.Int64N(j + 1)
		if _, dup := set[t]; dup {
			t = j
		}
		set[t] = struct{}{}
	}
	out := make([]int64, 0, k)
	for i := range set {
		out = append(out, i)
	}
	slices.Sort(out)
	return out
}

// flipBlocks XORs mutateLen bytes at a random offset of each listed block
// with non-zero random values.
func flipBlocks(f *os.File, size, bs int64, blocks []int64, rng *rand.Rand) error {
	var buf [mutateLen]byte
	for _, i := range blocks {
		blen := min(bs, size-i*bs)
		n := min(int64(mutateLen), blen)
		off := i*bs + rng.Int64N(blen-n+1)
		b := buf[:n]
		if _, err := f.ReadAt(b, off); err != nil {
			return err
		}
		for j := range b {
			b[j] ^= byte(1 + rng.IntN(255))
		}
		if _, err := f.WriteAt(b, off); err != nil {
			return err
		}
	}
	return nil
}

// insert shifts everything from a random offset in the first block by
// InsertLen bytes (copying backwards, in place) and fills the gap with
// random bytes.
func insert(f *os.File, size, bs int64, rng *rand.Rand) (int64, error) {
	var at int64
	if size > 0 {
		at = rng.Int64N(min(size, bs))
	}
	buf := make([]byte, 4<<20)
	for pos := size; pos > at; {
		n := min(int64(len(buf)), pos-at)
		pos -= n
		if _, err := f.ReadAt(buf[:n], pos); err != nil {
			return 0, err
		}
		if _, err := f.WriteAt(buf[:n], pos+InsertLen); err != nil {
			return 0, err
		}
	}
	gap := buf[:InsertLen]
	for i := range gap {
		gap[i] = byte(rng.Uint32())
	}
	if _, err := f.WriteAt(gap, at); err != nil {
		return 0, err
	}
	newBlocks := (size + InsertLen + bs - 1) / bs
	return newBlocks - at/bs, nil
}
