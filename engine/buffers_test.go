package engine

import "testing"

// TestBufClass: a run of sub-blocks takes the smallest power of two that
// holds it, not a whole block.
func TestBufClass(t *testing.T) {
	const bs = 1 << 20
	for _, c := range []struct{ bs, n, want int }{
		{bs, 1, refineSub}, {bs, refineSub, refineSub}, {bs, refineSub + 1, 2 * refineSub},
		{bs, 8 << 10, 8 << 10}, {bs, 300 << 10, 512 << 10}, {bs, bs/2 + 1, bs}, {bs, bs, bs},
		{refineSub, refineSub, refineSub}, {16 << 10, 16 << 10, 16 << 10},
	} {
		if got := bufClass(c.bs, c.n); got != c.want {
			t.Errorf("bufClass(%d, %d) = %d, want %d", c.bs, c.n, got, c.want)
		}
	}
	b := getBuf(bufClass(bs, 8<<10), 8<<10)
	if cap(b) != 8<<10 {
		t.Fatalf("an 8 KiB run took a buffer of %d bytes", cap(b))
	}
	releaseBuf(bs, b)
}
