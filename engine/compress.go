package engine

import (
	"fmt"

	"github.com/pierrec/lz4/v4"
)

// compress returns the lz4 block encoding of b when it is smaller than b.
func compress(b []byte) ([]byte, bool) {
	out := make([]byte, lz4.CompressBlockBound(len(b)))
	var c lz4.Compressor
	n, err := c.CompressBlock(b, out)
	if err != nil || n == 0 || n >= len(b) {
		return nil, false
	}
	return out[:n], true
}

// decompress expands an lz4 block into dst, which must be exactly the raw
// length.
func decompress(src, dst []byte) error {
	n, err := lz4.UncompressBlock(src, dst)
	if err != nil {
		return fmt.Errorf("engine: lz4 block: %w", err)
	}
	if n != len(dst) {
		return fmt.Errorf("engine: lz4 block expands to %d bytes, want %d", n, len(dst))
	}
	return nil
}
