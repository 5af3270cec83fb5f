package blake3mb

import (
	"encoding/binary"

	"github.com/zeebo/blake3"
)

// Size is the length of a sum.
const Size = 32

const (
	chunkLen = 1024 // BLAKE3's chunk: sixteen 64-byte blocks
	lanes    = 16

	chunkStart = 1 << 0
	chunkEnd   = 1 << 1
	parent     = 1 << 2
	root       = 1 << 3
)

// args is what compress16 reads and writes; its layout is gen.go's.
// Lane i hashes n blocks starting at ptrs[i], with the 64-bit counter
// ctrHi[i]<<32|ctrLo[i], block b with the flags flags[b]; each lane starts
// from the IV, and out[w][i] is word w of lane i's chaining value after
// the last block (the sum's words too where the flags say root).
type args struct {
	ptrs  [lanes]*byte
	ctrLo [lanes]uint32
	ctrHi [lanes]uint32
	flags [lanes]uint32
	out   [8][lanes]uint32
	n     uint64
}

// Fast reports whether this CPU takes the sixteen-lane path.
func Fast() bool { return useLanes }

// useLanes: golang.org/x/sys/cpu honours GODEBUG=cpu.avx512f=off and
// cpu.all=off itself (fast is false then).
var useLanes = fast

// Hasher holds the scratch of one goroutine's sums; the zero value is
// ready. A call allocates only when a message is longer than any before.
type Hasher struct {
	a   args
	cvs []byte // chaining values, 32 bytes each, little-endian words
	idx []int  // SumMany: the messages of one group
}

// eligible: whole chunks, at least two (one chunk alone is one lane's
// work: zeebo/blake3 does it as fast).
func eligible(m []byte) bool { return len(m) >= 2*chunkLen && len(m)%chunkLen == 0 }

// Sum256 is BLAKE3-256 of m. Long messages in whole chunks take sixteen
// chunks at a time; any other goes to zeebo/blake3.
func (h *Hasher) Sum256(m []byte) [Size]byte {
	if !useLanes || !eligible(m) {
		return blake3.Sum256(m)
	}
	n := len(m) / chunkLen
	cvs := h.scratch(n)
	a := &h.a
	a.n = chunkLen / 64
	a.flags = [lanes]uint32{0: chunkStart, 15: chunkEnd}
	for base := 0; base < n; base += lanes {
		k := min(lanes, n-base)
		for i := range lanes {
			c := base + min(i, k-1) // spare lanes hash the last chunk again
			a.ptrs[i] = &m[c*chunkLen]
			a.ctrLo[i], a.ctrHi[i] = uint32(c), uint32(uint64(c)>>32)
		}
		compress16(a)
		h.store(cvs[base*Size:], k, 0)
	}
	return h.merge(cvs, n)
}

// merge reduces the n chaining values in cvs to the root's sum, pairs of
// neighbours at each level, an odd last one carried up (BLAKE3's tree:
// each left subtree a power of two, as large as it can be).
func (h *Hasher) merge(cvs []byte, n int) [Size]byte {
	a := &h.a
	a.n = 1
	a.ctrLo, a.ctrHi = [lanes]uint32{}, [lanes]uint32{}
	for n > 2 {
		pairs := n / 2
		a.flags[0] = parent
		for p0 := 0; p0 < pairs; p0 += lanes {
			k := min(lanes, pairs-p0)
			for i := range lanes {
				a.ptrs[i] = &cvs[2*Size*(p0+min(i, k-1))]
			}
			compress16(a)
			h.store(cvs[p0*Size:], k, 0)
		}
		if n%2 == 1 {
			copy(cvs[pairs*Size:], cvs[(n-1)*Size:n*Size])
		}
		n = pairs + n%2
	}
	a.flags[0] = parent | root
	for i := range lanes {
		a.ptrs[i] = &cvs[0]
	}
	compress16(a)
	var sum [Size]byte
	for w := range 8 {
		binary.LittleEndian.PutUint32(sum[4*w:], a.out[w][0])
	}
	return sum
}

// store writes the first k lanes' chaining values to dst, the lanes
// stride bytes apart (Size when 0).
func (h *Hasher) store(dst []byte, k, stride int) {
	if stride == 0 {
		stride = Size
	}
	for i := range k {
		d := dst[i*stride : i*stride+Size]
		for w := range 8 {
			binary.LittleEndian.PutUint32(d[4*w:], h.a.out[w][i])
		}
	}
}

func (h *Hasher) scratch(n int) []byte {
	if len(h.cvs) < n*Size {
		h.cvs = make([]byte, n*Size)
	}
	return h.cvs[:n*Size]
}

// minGroup is the fewest messages of one length hashed a lane each;
// fewer go one at a time (Sum256), each chunk a lane, and so do messages
// of as many chunks as there are messages (four 1 MiB blocks fill the
// lanes one after the other, a lane each would leave twelve idle).
const minGroup = 4

// SumMany sets out[i] to BLAKE3-256 of msgs[i]; out is as long as msgs.
// Messages of one length in whole chunks are hashed sixteen at a time,
// each in its own lane (a refined block's sub-blocks: one 4 KiB message
// alone fills four lanes); any other one at a time.
func (h *Hasher) SumMany(out [][Size]byte, msgs [][]byte) {
	if len(out) != len(msgs) {
		panic("blake3mb: out and msgs differ in length")
	}
	if !useLanes {
		for i, m := range msgs {
			out[i] = blake3.Sum256(m)
		}
		return
	}
	done := 0 // msgs[:done] are summed, or wait in idx
	for done < len(msgs) {
		l := len(msgs[done])
		if l == 0 || l%chunkLen != 0 {
			out[done] = blake3.Sum256(msgs[done])
			done++
			continue
		}
		// the run of messages of this length
		idx := h.idx[:0]
		for done < len(msgs) && len(msgs[done]) == l && len(idx) < lanes {
			idx = append(idx, done)
			done++
		}
		h.idx = idx
		if len(idx) < minGroup || len(idx) <= l/chunkLen {
			// as many lanes or more, or near enough, one at a time
			for _, i := range idx {
				out[i] = h.Sum256(msgs[i])
			}
			continue
		}
		h.group(out, msgs, idx, l/chunkLen)
	}
}

// group hashes msgs[idx[i]] in lane i, each nch chunks long.
func (h *Hasher) group(out [][Size]byte, msgs [][]byte, idx []int, nch int) {
	a := &h.a
	k := len(idx)
	cvs := h.scratch(lanes * nch)
	stride := nch * Size // each message's chaining values
	a.n = chunkLen / 64
	a.ctrHi = [lanes]uint32{}
	for c := range nch {
		a.flags = [lanes]uint32{0: chunkStart, 15: chunkEnd}
		if nch == 1 {
			a.flags[15] |= root
		}
		for i := range lanes {
			a.ptrs[i] = &msgs[idx[min(i, k-1)]][c*chunkLen]
			a.ctrLo[i] = uint32(c)
		}
		compress16(a)
		if nch == 1 {
			h.sums(out, idx)
			return
		}
		h.store(cvs[c*Size:], k, stride)
	}
	a.n = 1
	a.ctrLo = [lanes]uint32{}
	for n := nch; ; {
		pairs := n / 2
		for p := range pairs {
			a.flags[0] = parent
			if n == 2 {
				a.flags[0] |= root
			}
			for i := range lanes {
				a.ptrs[i] = &cvs[min(i, k-1)*stride+2*Size*p]
			}
			compress16(a)
			if n == 2 {
				h.sums(out, idx)
				return
			}
			h.store(cvs[p*Size:], k, stride)
		}
		if n%2 == 1 {
			for i := range k {
				c := cvs[i*stride:]
				copy(c[pairs*Size:], c[(n-1)*Size:n*Size])
			}
		}
		n = pairs + n%2
	}
}

// sums writes the lanes' root outputs to out at idx.
func (h *Hasher) sums(out [][Size]byte, idx []int) {
	for i, j := range idx {
		for w := range 8 {
			binary.LittleEndian.PutUint32(out[j][4*w:], h.a.out[w][i])
		}
	}
}
