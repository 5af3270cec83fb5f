package engine

import (
	"fmt"
	"runtime"
	"strconv"
	"strings"

	"github.com/pdiffagent/pdiffagent/wire"
)

// DefaultBlockSize is the block size when none is given.
const DefaultBlockSize = 1 << 20

// Params are what both sides of a session must agree on. The side that
// starts a session fills them and sends them to the other (wire.Open).
type Params struct {
	// Size of the source in bytes.
	Size int64
	// BlockSize is a power of two from wire.MinBlockSize to wire.MaxBlockSize.
	// Zero means DefaultBlockSize.
	BlockSize int
	// Workers is the number of stripes, each with its own stream. Zero means
	// runtime.NumCPU(); at most wire.MaxWorkers.
	Workers int
	// Strong is the tier-2 hash. Zero means SHA256.
	Strong StrongHash
	// Codec is the compression the sender may use per block (kept only when
	// it shrinks the block).
	Codec wire.Codec
	// WholeFile skips hashing: every block is sent.
	WholeFile bool
	// DryRun compares and reports; nothing is written, not even a resize.
	DryRun bool
	// Start and End restrict the sync to the bytes [Start, End) of the
	// file. End 0 means Size. Start is block-aligned; End is block-aligned
	// or Size. A ranged sync never shrinks the target.
	Start, End int64
	// NoSparse writes all-zero blocks as data instead of leaving holes.
	NoSparse bool
	// NoTimes and NoPerms leave the target's mtime and mode as they are;
	// by default a regular-file target takes the source's after a sync.
	NoTimes, NoPerms bool
	// Owner gives a regular-file target the source's owner and group; the
	// receiver must run as root.
	Owner bool
}

// Normalize fills zero fields with their defaults and validates the result.
func (p Params) Normalize() (Params, error) {
	if p.BlockSize == 0 {
		p.BlockSize = DefaultBlockSize
	}
	if p.Workers == 0 {
		p.Workers = runtime.NumCPU()
	}
	if p.Strong == 0 {
		p.Strong = SHA256
	}
	if p.End == 0 {
		p.End = p.Size
	}
	return p, p.Validate()
}

// Validate reports whether p is usable as it stands.
func (p Params) Validate() error {
	if err := ValidateBlockSize(p.BlockSize); err != nil {
		return err
	}
	if p.Size < 0 {
		return fmt.Errorf("engine: negative size %d", p.Size)
	}
	if err := p.validateRange(); err != nil {
		return err
	}
	if p.Workers < 1 || p.Workers > wire.MaxWorkers {
		return fmt.Errorf("engine: workers %d out of range 1..%d", p.Workers, wire.MaxWorkers)
	}
	if _, err := p.Strong.newHash(); err != nil {
		return err
	}
	if p.Codec != wire.CodecNone && p.Codec != wire.CodecLZ4 {
		return fmt.Errorf("engine: unknown codec %d", p.Codec)
	}
	return nil
}

// validateRange checks Start and End against the size and block size.
func (p Params) validateRange() error {
	bs := int64(p.BlockSize)
	end := p.rangeEnd()
	switch {
	case p.Start < 0 || p.Start%bs != 0:
		return fmt.Errorf("start %d: must be a multiple of the block size %d", p.Start, bs)
	case end%bs != 0 && end != p.Size:
		return fmt.Errorf("end %d: must be a multiple of the block size %d or the source's size %d", end, bs, p.Size)
	case end > p.Size:
		return fmt.Errorf("end %d: beyond the source's size %d", end, p.Size)
	case p.Start > end:
		return fmt.Errorf("start %d: beyond the end %d", p.Start, end)
	}
	return nil
}

func (p Params) rangeEnd() int64 {
	if p.End == 0 {
		return p.Size
	}
	return p.End
}

// Partial reports whether the sync covers less than the whole file.
func (p Params) Partial() bool { return p.Start != 0 || p.rangeEnd() != p.Size }

// firstBlock and endBlock bound the blocks of the range.
func (p Params) firstBlock() int64 { return p.Start / int64(p.BlockSize) }
func (p Params) endBlock() int64 {
	bs := int64(p.BlockSize)
	return (p.rangeEnd() + bs - 1) / bs
}

// Blocks is the number of blocks in the range; the file's last may be partial.
func (p Params) Blocks() int64 { return p.endBlock() - p.firstBlock() }

// Stripe returns the blocks [first, end) owned by worker w.
func (p Params) Stripe(w int) (first, end int64) {
	n, k, f := p.Blocks(), int64(p.Workers), p.firstBlock()
	return f + n*int64(w)/k, f + n*int64(w+1)/k
}

// BlockLen is the length of block i (the last one may be short).
func (p Params) BlockLen(i int64) int {
	off := i * int64(p.BlockSize)
	if rest := p.Size - off; rest < int64(p.BlockSize) {
		return int(rest)
	}
	return p.BlockSize
}

// ValidateBlockSize accepts powers of two from 4 KiB to 64 MiB.
func ValidateBlockSize(n int) error {
	if n < wire.MinBlockSize || n > wire.MaxBlockSize || n&(n-1) != 0 {
		return fmt.Errorf("block size %d: must be a power of two from 4K to 64M", n)
	}
	return nil
}

// ParseBlockSize reads sizes like "128K", "1MiB", "4M", "65536".
func ParseBlockSize(s string) (int, error) {
	n, err := ParseSize(s)
	if err != nil {
		return 0, err
	}
	if n > wire.MaxBlockSize {
		return 0, fmt.Errorf("block size %q: must be a power of two from 4K to 64M", s)
	}
	if err := ValidateBlockSize(int(n)); err != nil {
		return 0, fmt.Errorf("block size %q: must be a power of two from 4K to 64M", s)
	}
	return int(n), nil
}

// ParseSize reads a byte count with an optional binary suffix: K, KB, KiB,
// M, MiB, G, GiB, T, TiB (all powers of 1024), case-insensitive.
func ParseSize(s string) (int64, error) {
	t := strings.ToLower(strings.TrimSpace(s))
	t = strings.TrimSuffix(strings.TrimSuffix(t, "ib"), "b")
	mult := int64(1)
	if t != "" {
		switch t[len(t)-1] {
		case 'k':
			mult = 1 << 10
		case 'm':
			mult = 1 << 20
		case 'g':
			mult = 1 << 30
		case 't':
			mult = 1 << 40
		}
		if mult != 1 {
			t = t[:len(t)-1]
		}
	}
	v, err := strconv.ParseInt(t, 10, 64)
	if err != nil || v < 0 || v > (1<<62)/mult {
		return 0, fmt.Errorf("size %q: want a number with an optional K, M, G or T suffix", s)
	}
	return v * mult, nil
}
