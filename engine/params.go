package engine

import (
	"errors"
	"fmt"
	"runtime"
	"strconv"
	"strings"

	"github.com/pdiffagent/pdiffagent/wire"
)

// DefaultBlockSize is the block size when none is given.
const DefaultBlockSize = 1 << 20

// The parameters of a sync have one lifecycle. The side that starts a
// session fills a Session (from its flags; zero fields mean defaults) and
// the range of a File; Session.Normalize fills the defaults and checks
// everything that does not depend on the source, once; Params.Bind, once
// the source's size is known (at once for a push or a local sync, from the
// server's answer for a pull, from the stream header in pipe mode), applies
// the range's defaults and checks. Send and Receive take only bound Params,
// and check nothing again. The agent converts Params to and from wire.Open
// once each way (agent/params.go).

// Session are the parameters both sides of a session agree on once,
// whatever files it carries. The side that starts a session fills them and
// sends them to the other (wire.Open), which may lower Workers.
type Session struct {
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
	// NoSparse writes all-zero blocks as data instead of leaving holes.
	NoSparse bool
	// NoTimes and NoPerms leave the target's mtime and mode as they are;
	// by default a regular-file target takes the source's after a sync.
	NoTimes, NoPerms bool
	// Owner gives a regular-file target the source's owner and group; the
	// receiver must run as root.
	Owner bool
	// NoCache makes both sides hash their copies afresh instead of trusting
	// a block-hash record or journal (engine/cache); each still writes a
	// fresh record at the end.
	NoCache bool
	// NoRolling turns the search for moved data off (--no-rolling), even
	// when both sides have wire.CapRolling.
	NoRolling bool
	// MinBlock is the size of the sub-blocks refinement cuts a changed
	// block into (--min-block): a power of two from wire.MinBlockSize to
	// BlockSize. Zero means wire.MinBlockSize, or BlockSize if that is
	// smaller; BlockSize turns refinement off. The receiver cuts, so in a
	// push it travels to the server (wire.Open.MinBlock).
	MinBlock int
	// Caps are the capabilities both sides share: the AND of the two
	// Hellos (wire.Hello.Common), set by the agent once the session is
	// open, and wire.AgentCaps for a local sync (both sides are this
	// agent). Pipe mode, one-way, has none. A feature that changes what
	// crosses the wire runs only when its bit is here; without it the
	// session behaves as before the feature.
	Caps wire.Caps

	normalized bool // set by Normalize
}

// File is what belongs to one file of a session: the source's size and the
// range synced. The file's mode, times and owner travel with the source
// (Source, and wire.Final at the end).
type File struct {
	// Size of the source in bytes; set by Params.Bind.
	Size int64
	// Start and End restrict the sync to the bytes [Start, End) of the
	// file. End 0 means Size. Start is block-aligned; End is block-aligned
	// or Size. A ranged sync never shrinks the target.
	Start, End int64
	// PeerRecord is the receiver's record digest, offered before the
	// session (RecordDigest; the agent's OpenReply): a sender whose own
	// record has it ends the session at once, equal by records (equal.go).
	// Zero: none.
	PeerRecord [wire.DigestSize]byte
}

// Params are one file's sync within a session.
type Params struct {
	Session
	File

	bound bool // set by Bind
}

// Normalize fills zero fields with their defaults and checks the result.
// It is idempotent.
func (s Session) Normalize() (Session, error) {
	if s.normalized {
		return s, nil
	}
	if s.BlockSize == 0 {
		s.BlockSize = DefaultBlockSize
	}
	if s.Workers == 0 {
		s.Workers = runtime.NumCPU()
	}
	if s.Strong == 0 {
		s.Strong = SHA256
	}
	if err := ValidateBlockSize(s.BlockSize); err != nil {
		return s, err
	}
	if s.MinBlock == 0 {
		s.MinBlock = min(refineSub, s.BlockSize)
	}
	if err := ValidateBlockSize(s.MinBlock); err != nil || s.MinBlock > s.BlockSize {
		return s, fmt.Errorf("min-block %d: must be a power of two from 4K to the block size %d", s.MinBlock, s.BlockSize)
	}
	if s.Workers < 1 || s.Workers > wire.MaxWorkers {
		return s, fmt.Errorf("engine: workers %d out of range 1..%d", s.Workers, wire.MaxWorkers)
	}
	if _, err := s.Strong.oneShot(); err != nil {
		return s, err
	}
	if s.Codec != wire.CodecNone && s.Codec != wire.CodecLZ4 {
		return s, fmt.Errorf("engine: unknown codec %d", s.Codec)
	}
	s.normalized = true
	return s, nil
}

// CheckRange checks what can be checked of the range before the source's
// size is known: Start on the grid of blocks of blockSize bytes, End not
// before it.
func (f File) CheckRange(blockSize int) error {
	bs := int64(blockSize)
	switch {
	case f.Start < 0 || f.Start%bs != 0:
		return fmt.Errorf("start %d: must be a multiple of the block size %d", f.Start, bs)
	case f.End < 0 || (f.End != 0 && f.Start > f.End):
		return fmt.Errorf("start %d: beyond the end %d", f.Start, f.End)
	}
	return nil
}

// Bind gives p the source's size: the session's defaults are filled (unless
// Normalize did it already), End 0 becomes size, and the range is checked
// against it. Send and Receive take only bound Params.
func (p Params) Bind(size int64) (Params, error) {
	var err error
	if p.Session, err = p.Session.Normalize(); err != nil {
		return p, err
	}
	if size < 0 {
		return p, fmt.Errorf("engine: negative size %d", size)
	}
	p.Size = size
	if p.End == 0 {
		p.End = size
	}
	if err := p.CheckRange(p.BlockSize); err != nil {
		return p, err
	}
	bs := int64(p.BlockSize)
	switch {
	case p.End%bs != 0 && p.End != size:
		return p, fmt.Errorf("end %d: must be a multiple of the block size %d or the source's size %d", p.End, bs, size)
	case p.End > size:
		return p, fmt.Errorf("end %d: beyond the source's size %d", p.End, size)
	}
	p.bound = true
	return p, nil
}

// checkBound refuses Params that Bind did not make.
func (p Params) checkBound() error {
	if !p.bound {
		return errors.New("engine: params not bound to the source's size (Params.Bind)")
	}
	return nil
}

// Partial reports whether the sync covers less than the whole file.
func (p Params) Partial() bool { return p.Start != 0 || p.End != p.Size }

// firstBlock and endBlock bound the blocks of the range.
func (p Params) firstBlock() int64 { return p.Start / int64(p.BlockSize) }
func (p Params) endBlock() int64 {
	bs := int64(p.BlockSize)
	return (p.End + bs - 1) / bs
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
