package engine

import (
	"errors"
	"fmt"

	"github.com/pdiffagent/pdiffagent/sysio"
)

// With ReadMmap (readpath.go), the hashing passes read blocks where the
// page cache holds them, through a read-only mapping of one batch at a
// time, instead of copying every block out with pread. Only the bytes of
// blocks that must travel are copied, into a pooled buffer, so a mapping
// never escapes the engine. A batch's mapping lives as long as its blocks
// are needed (on the sender, until its Verdict is decided), so what is
// mapped is bounded by the same window as the buffers it replaces.
//
// A file truncated by someone else while mapped makes the next touch of a
// vanished page fault; every touch runs inside sysio.Guard, which turns the
// fault into an error instead of a crash.

// blockView is the blocks [first, first+n) of a file, mapped. A nil
// *blockView is valid and means "not mapped: use ReadAt".
type blockView struct {
	m     *sysio.Mapping
	first int64
	bs    int64
}

// mapBlocks maps blocks [first, first+n) of f, a file of size bytes, or
// returns nil when they cannot or should not be mapped: the caller then
// reads with ReadAt. Only whole blocks within size are mapped; the last may
// be partial.
func mapBlocks(f *sysio.File, p Params, opt Options, size, first, n int64) *blockView {
	if opt.ReadPath != ReadMmap || f == nil || n <= 0 {
		return nil
	}
	bs := int64(p.BlockSize)
	off := first * bs
	end := min((first+n)*bs, size)
	if end <= off {
		return nil
	}
	m, err := f.Map(off, int(end-off))
	if err != nil {
		return nil // ErrNotSupported, or a limit such as vm.max_map_count: pread works everywhere
	}
	return &blockView{m: m, first: first, bs: bs}
}

// block returns block i's n bytes, which must lie within the view. Touch
// them only inside sysio.Guard.
func (v *blockView) block(i int64, n int) []byte {
	off := (i - v.first) * v.bs
	return v.m.Bytes()[off : off+int64(n)]
}

// close unmaps the view; nil is fine.
func (v *blockView) close() {
	if v != nil {
		v.m.Close()
	}
}

// guardErr turns a fault in mapped memory into an error naming the file.
func guardErr(err error, f *sysio.File, what error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, sysio.ErrMappedFault) {
		return fmt.Errorf("%w: %s shrank while it was being read", what, f.Name())
	}
	return err
}
