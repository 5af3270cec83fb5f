package engine

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/pdiffagent/pdiffagent/engine/cache"
	"github.com/pdiffagent/pdiffagent/sysio"
)

// maxScrubList bounds the block numbers a Scrub lists; it counts them all.
const maxScrubList = 1 << 20

// ErrNoRecord means a file has no block-hash record to scrub against.
var ErrNoRecord = errors.New("engine: no block-hash record for this file")

// ScrubResult is what Scrub found.
type ScrubResult struct {
	BlockSize int     `json:"block_size"`
	Blocks    int64   `json:"blocks"`     // blocks of the record
	Current   bool    `json:"current"`    // the file still had the record's identity
	Differ    int64   `json:"differ"`     // blocks whose content no longer matches the record
	WeakOnly  int64   `json:"weak_only"`  // blocks recorded without a tier-2 hash: compared by tier 1 only
	Bad       []int64 `json:"bad_blocks"` // the first maxScrubList of them
	BytesRead int64   `json:"bytes_read"`
}

// Scrub re-reads f whole and compares every block with f's record in s
// (its tier-1 and tier-2 hash): a block that differs was changed behind
// pdiffagent's back or rotted. A block recorded without its tier-2 hash
// (cache.NoStrong: an earlier build recorded sent and written blocks so)
// is compared by its tier-1 hash (xxhash64 or XXH3-64, as recorded) only, and counted in
// WeakOnly: a change that keeps a 64-bit non-cryptographic hash is not
// seen there. It never uses the record in place of reading. A file whose
// size differs from the record's counts every block past the shorter end
// as different.
func Scrub(ctx context.Context, f *sysio.File, s *cache.Store, opt Options) (res ScrubResult, err error) {
	rec, current, err := s.Inspect(f)
	if err != nil {
		return res, err
	}
	if rec == nil {
		return res, fmt.Errorf("%s: %w", f.Name(), ErrNoRecord)
	}
	defer rec.Close()
	res.BlockSize, res.Blocks, res.Current = rec.BlockSize, int64(rec.Blocks), current
	strong, err := newStrongHasher(StrongHash(rec.Method &^ cache.MethodXXH3))
	if err != nil {
		return res, err
	}
	size, err := f.Size()
	if err != nil {
		return res, err
	}
	read0 := f.BytesRead()
	defer func() { res.BytesRead = f.BytesRead() - read0 }()
	base := WeakFunc(DefaultWeak) // as the record says it was made
	if rec.Method&cache.MethodXXH3 != 0 {
		base = WeakXXH3
	}
	weak := opt.weakWith(ctx, base)
	bs := int64(rec.BlockSize)
	buf := getBuf(rec.BlockSize, rec.BlockSize)
	defer putBuf(rec.BlockSize, buf)
	bad := func(i int64) {
		res.Differ++
		if len(res.Bad) < maxScrubList {
			res.Bad = append(res.Bad, i)
		}
	}
	err = rec.Range(0, rec.Blocks, func(first uint64, es []cache.Entry) error {
		for k := range es {
			if err := ctx.Err(); err != nil {
				return err
			}
			i := int64(first) + int64(k)
			n := min(bs, rec.Identity.Size-i*bs)
			if i*bs+n > size {
				bad(i)
				continue
			}
			b := buf[:n]
			if _, err := f.ReadAt(b, i*bs); err != nil && !errors.Is(err, io.EOF) {
				return fmt.Errorf("read %s: %w", f.Name(), err)
			}
			if !es[k].HasStrong() {
				res.WeakOnly++
			}
			if weak(b) != es[k].Weak || (es[k].HasStrong() && strong.sum(b) != es[k].Strong) {
				bad(i)
			}
		}
		return nil
	})
	if err != nil {
		return res, err
	}
	for i := int64(rec.Blocks); i*bs < size; i++ { // a file grown past its record
		bad(i)
	}
	return res, nil
}
