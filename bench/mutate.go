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
	// Insert inserts InsertLen random bytes InsertAt bytes into the file
	// (at a random offset inside the first block of a file no larger than
	// that), shifting the rest: the file grows and every block from the
	// insertion on moves. fraction is ignored. MutateInsert inserts any
	// number of bytes there. The copy is what changes, so to the sync that
	// brings it back to the source the bytes are a deletion: the source's
	// data lies that much further on in the copy.
	Insert
	// Blocks replaces round(fraction*blocks) distinct blocks chosen at
	// random wholly with random data.
	Blocks
	// Pages rewrites a number of random PageLen-aligned pages with random
	// data (MutatePages), as a database does between two syncs.
	Pages
	// Inserts inserts InsertsCount runs of InsertsLen random bytes at
	// random offsets, shifting what follows each. fraction is ignored.
	Inserts
)

// InsertLen is the number of bytes the Insert pattern adds, InsertAt
// where.
const (
	InsertLen = 4 << 10
	InsertAt  = 1 << 20
)

// InsertsCount insertions of InsertsLen bytes each make the Inserts
// pattern.
const (
	InsertsCount = 100
	InsertsLen   = 100
)

// mutateLen is how many bytes Random and Prefix change in each block.
const mutateLen = 8

var patternNames = []string{Random: "random", Prefix: "prefix", Insert: "insert", Blocks: "blocks", Pages: "pages", Inserts: "inserts"}

// Inserting reports whether the pattern inserts bytes (a file that grows,
// one round whatever the fraction).
func (p Pattern) Inserting() bool { return p == Insert || p == Inserts }

func (p Pattern) String() string {
	if p >= 0 && int(p) < len(patternNames) {
		return patternNames[p]
	}
	return fmt.Sprintf("pattern(%d)", int(p))
}

// ParsePattern reads "random", "prefix", "insert", "blocks", "pages" or "inserts".
func ParsePattern(s string) (Pattern, error) {
	if i := slices.Index(patternNames, s); i >= 0 {
		return Pattern(i), nil
	}
	return 0, fmt.Errorf("pattern %q: want random, prefix, insert, blocks, pages or inserts", s)
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
	if !pattern.Inserting() && (fraction < 0 || fraction > 1 || math.IsNaN(fraction)) {
		return 0, fmt.Errorf("bench: fraction %v out of range 0..1", fraction)
	}
	return mutateFile(path, func(f *os.File, size int64) (int64, error) {
		return mutate(f, size, int64(blockSize), fraction, pattern, rand.New(rand.NewPCG(uint64(seed), 0x70646966666167)))
	})
}

// mutate is Mutate on the open file f of size bytes.
func mutate(f *os.File, size, bs int64, fraction float64, pattern Pattern, rng *rand.Rand) (int64, error) {
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
		return insert(f, size, bs, []int64{insertAt(size, bs, rng)}, InsertLen, rng)
	case Inserts:
		at := make([]int64, InsertsCount)
		for i := range at {
			at[i] = rng.Int64N(size + 1)
		}
		slices.Sort(at)
		return insert(f, size, bs, at, InsertsLen, rng)
	case Blocks:
		return k, replaceBlocks(f, size, bs, pickDistinct(rng, blocks, k), rng)
	case Pages:
		return 0, fmt.Errorf("bench: the pages pattern takes a count of pages: MutatePages")
	}
	return 0, fmt.Errorf("bench: unknown %v", pattern)
}

// insertAt is where Insert inserts in a file of size bytes: InsertAt, or
// a random offset in the first block of a file no larger than that.
func insertAt(size, bs int64, rng *rand.Rand) int64 {
	if size > InsertAt {
		return InsertAt
	}
	if size > 0 {
		return rng.Int64N(min(size, bs))
	}
	return 0
}

// MutateInsert inserts n random bytes into the file at path where the
// Insert pattern does, and returns how many blocks of blockSize bytes
// differ from the insertion to the new end (as Mutate does for Insert,
// which inserts InsertLen).
func MutateInsert(path string, blockSize int, n int64, seed int64) (changed int64, err error) {
	if blockSize <= 0 || n < 0 {
		return 0, fmt.Errorf("bench: block size %d, %d bytes to insert", blockSize, n)
	}
	return mutateFile(path, func(f *os.File, size int64) (int64, error) {
		rng := rand.New(rand.NewPCG(uint64(seed), 0x70646966666167))
		bs := int64(blockSize)
		return insert(f, size, bs, []int64{insertAt(size, bs, rng)}, n, rng)
	})
}

// mutateFile opens the file at path for writing and calls change with it
// and its size, closing it after; change returns the blocks it changed.
func mutateFile(path string, change func(f *os.File, size int64) (int64, error)) (changed int64, err error) {
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
	return change(f, size)
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

// insert inserts n random bytes at each offset of at (increasing, in the
// original file), shifting what follows: it moves the segments after the
// offsets from the last to the first, each copied backwards in place, then
// fills the gaps. It returns the blocks from the first insertion to the
// new end.
func insert(f *os.File, size, bs int64, at []int64, n int64, rng *rand.Rand) (int64, error) {
	buf := make([]byte, 4<<20)
	end := size
	for k := len(at) - 1; k >= 0; k-- { // segment [at[k], end) moves by (k+1)*n
		shift := int64(k+1) * n
		for pos := end; pos > at[k]; {
			c := min(int64(len(buf)), pos-at[k])
			pos -= c
			if _, err := f.ReadAt(buf[:c], pos); err != nil {
				return 0, err
			}
			if _, err := f.WriteAt(buf[:c], pos+shift); err != nil {
				return 0, err
			}
		}
		end = at[k]
	}
	for k, a := range at {
		for done := int64(0); done < n; { // the gap, a buffer at a time
			gap := buf[:min(n-done, int64(len(buf)))]
			for i := range gap {
				gap[i] = byte(rng.Uint32())
			}
			if _, err := f.WriteAt(gap, a+int64(k)*n+done); err != nil {
				return 0, err
			}
			done += int64(len(gap))
		}
	}
	if len(at) == 0 {
		return 0, nil
	}
	newBlocks := (size + int64(len(at))*n + bs - 1) / bs
	return newBlocks - at[0]/bs, nil
}
