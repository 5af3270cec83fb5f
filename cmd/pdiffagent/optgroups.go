package main

import (
	"fmt"
	"runtime"
	"strconv"

	"github.com/pdiffagent/pdiffagent/engine"
	"github.com/pdiffagent/pdiffagent/wire"
	"github.com/spf13/pflag"
)

// Option groups: the flags several commands share, each registered by one
// AddFlags and checked by one check, embedded in the options of every
// command that takes them (restic's filter.ExcludePatternOptions pattern).
// A new flag two commands share belongs in a group here, not in each
// command.

// gridOptions are -b and -m: the block grid and the tier-2 hash, which both
// sides of a sync (and every stage of a pipe) must agree on.
type gridOptions struct {
	BlockSize blockSizeValue
	Hash      hashValue
}

// AddFlags registers -b and -m with their defaults.
func (o *gridOptions) AddFlags(f *pflag.FlagSet) {
	o.BlockSize = engine.DefaultBlockSize
	o.Hash = hashValue(engine.SHA256)
	f.VarP(&o.BlockSize, "block-size", "b", "block size, a power of two from 4K to 64M (e.g. 128K, 1MiB, 4M)")
	f.VarP(&o.Hash, "hash", "m", "tier-2 hash confirming equal blocks: sha256 (four blocks at a time with the SHA extensions), blake3 (sixteen lanes with AVX-512; the faster choice on CPUs with AVX-512 or without SHA extensions) or sha512_256")
}

// apply sets the session's block size and tier-2 hash.
func (o *gridOptions) apply(s *engine.Session) {
	s.BlockSize, s.Strong = int(o.BlockSize), engine.StrongHash(o.Hash)
}

// refineOptions are --min-block: the sub-blocks a changed block is
// narrowed down to (engine.Session.MinBlock).
type refineOptions struct {
	MinBlock blockSizeValue // 0: the engine's default, 4K
}

// AddFlags registers --min-block.
func (o *refineOptions) AddFlags(f *pflag.FlagSet) {
	f.Var(&o.MinBlock, "min-block", "size of the sub-blocks a changed block is compared in, so that only those that differ are sent: a power of two from 4K (the default) to the block size, which turns this off")
}

// check refuses a --min-block above -b.
func (o *refineOptions) check(blockSize int) error {
	if int(o.MinBlock) > blockSize {
		return usageErrorf("--min-block %s: must not exceed the block size %s", formatSize(int64(o.MinBlock)), formatSize(int64(blockSize)))
	}
	return nil
}

// args are the flags that give a child process the same --min-block.
func (o *refineOptions) args() []string {
	if o.MinBlock == 0 {
		return nil
	}
	return []string{"--min-block", formatSize(int64(o.MinBlock))}
}

// workerOptions are -c.
type workerOptions struct {
	Concurrency int
}

// AddFlags registers -c; its default is the number of CPUs.
func (o *workerOptions) AddFlags(f *pflag.FlagSet) {
	f.IntVarP(&o.Concurrency, "concurrency", "c", runtime.NumCPU(), fmt.Sprintf("workers (stripes read and hashed in parallel), 1 to %d", wire.MaxWorkers))
}

func (o *workerOptions) check() error {
	if o.Concurrency < 1 || o.Concurrency > wire.MaxWorkers {
		return usageErrorf("concurrency %d: must be from 1 to %d", o.Concurrency, wire.MaxWorkers)
	}
	return nil
}

// apply sets the session's workers.
func (o *workerOptions) apply(s *engine.Session) { s.Workers = o.Concurrency }

// rangeOptions are --start and --end.
type rangeOptions struct {
	Start, End sizeValue
}

// AddFlags registers --start and --end.
func (o *rangeOptions) AddFlags(f *pflag.FlagSet) {
	f.Var(&o.Start, "start", "sync only from this byte offset (a multiple of the block size)")
	f.Var(&o.End, "end", "sync only up to this byte offset (a multiple of the block size, or the source's size); 0 = the end")
}

// check applies what can be checked before the source's size is known
// (the engine checks the rest once it is): Start on the grid of blocks of
// bs bytes and not after End. With aligned (pipe mode, where the source's
// size is not known when the grid is chosen), End must be on the grid and
// after Start too.
func (o *rangeOptions) check(bs int64, aligned bool) error {
	b := sizeValue(bs)
	switch {
	case o.Start%b != 0:
		return usageErrorf("--start %d: must be a multiple of the block size %s", o.Start, formatSize(bs))
	case o.End != 0 && o.End < o.Start:
		return usageErrorf("--end %d: before --start %d", o.End, o.Start)
	case aligned && o.End%b != 0:
		return usageErrorf("--end %d: must be a multiple of the block size %s", o.End, formatSize(bs))
	case aligned && o.End != 0 && o.End == o.Start:
		return usageErrorf("--end %d: must lie after --start %d", o.End, o.Start)
	}
	return nil
}

// file is the range as the engine takes it (its Size is the source's,
// bound by the engine).
func (o *rangeOptions) file() engine.File {
	return engine.File{Start: int64(o.Start), End: int64(o.End)}
}

// metaOptions are what a writing side does beyond the data: holes, mtime
// and permissions.
type metaOptions struct {
	NoSparse, NoTimes, NoPerms bool
}

// AddFlags registers --no-sparse, --no-times and --no-perms.
func (o *metaOptions) AddFlags(f *pflag.FlagSet) {
	f.BoolVar(&o.NoSparse, "no-sparse", false, "write all-zero blocks as data instead of leaving holes in a regular-file target")
	f.BoolVar(&o.NoTimes, "no-times", false, "do not give the target the source's modification time")
	f.BoolVar(&o.NoPerms, "no-perms", false, "do not give the target the source's permissions")
}

// apply sets the session's handling of holes, mtime and permissions.
func (o *metaOptions) apply(s *engine.Session) {
	s.NoSparse, s.NoTimes, s.NoPerms = o.NoSparse, o.NoTimes, o.NoPerms
}

// compressOptions are --compress.
type compressOptions struct {
	Compress codecValue
}

// AddFlags registers --compress and -z (--lz4), its short form for lz4;
// the last one given wins.
func (o *compressOptions) AddFlags(f *pflag.FlagSet) {
	f.Var(&o.Compress, "compress", "compress changed blocks: none or lz4 (kept per block only when it shrinks it; pays on links slower than ~0.4 GB/s per core)")
	f.VarPF(lz4Flag{&o.Compress}, "lz4", "z", "short for --compress lz4").NoOptDefVal = "true"
}

// lz4Flag is -z: a boolean view of --compress.
type lz4Flag struct{ c *codecValue }

func (f lz4Flag) String() string {
	return strconv.FormatBool(f.c != nil && wire.Codec(*f.c) == wire.CodecLZ4)
}
func (lz4Flag) Type() string     { return "bool" }
func (lz4Flag) IsBoolFlag() bool { return true }
func (f lz4Flag) Set(s string) error {
	on, err := strconv.ParseBool(s)
	if err != nil {
		return err
	}
	*f.c = codecValue(wire.CodecNone)
	if on {
		*f.c = codecValue(wire.CodecLZ4)
	}
	return nil
}

// apply sets the session's codec.
func (o *compressOptions) apply(s *engine.Session) { s.Codec = wire.Codec(o.Compress) }

// verbosityOptions are -v and -q.
type verbosityOptions struct {
	Verbose int
	Quiet   bool
}

// AddFlags registers -v and -q.
func (o *verbosityOptions) AddFlags(f *pflag.FlagSet) {
	f.CountVarP(&o.Verbose, "verbose", "v", "say more, on stderr (repeat for more detail)")
	f.BoolVarP(&o.Quiet, "quiet", "q", false, "print nothing on success")
}

func (o *verbosityOptions) check() error {
	if o.Quiet && o.Verbose > 0 {
		return usageErrorf("--quiet and --verbose contradict each other")
	}
	return nil
}
