package sha256mb

import (
	"crypto/sha256"
	"encoding/binary"
	"strings"
)

// Lanes is how many messages the fast path hashes together: pass at
// least this many to Sum256 for its full speed.
const Lanes = 4

// Size is the length of a SHA-256 sum.
const Size = sha256.Size

// Fast reports whether this CPU takes the interleaved path.
func Fast() bool { return useLanes }

// Sum256 sets out[i] to the SHA-256 of msgs[i]; out must be as long as
// msgs. Messages take the lanes in order, each lane the next message as
// soon as its own is done, so a long message runs beside many short ones:
// put the longest first for the best balance.
func Sum256(out [][Size]byte, msgs [][]byte) {
	if len(out) != len(msgs) {
		panic("sha256mb: out and msgs differ in length")
	}
	if !useLanes || len(msgs) == 1 {
		for i, m := range msgs {
			out[i] = sha256.Sum256(m)
		}
		return
	}
	sumLanes(out, msgs)
}

// iv is the initial state in the lanes' word order (toLane).
var iv = toLane([8]uint32{0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19})

// toLane puts a..h in the order the round instruction keeps them: ABEF
// and CDGH, each from its lowest 32-bit word up (F E B A, H G D C).
func toLane(h [8]uint32) [8]uint32 {
	return [8]uint32{h[5], h[4], h[1], h[0], h[7], h[6], h[3], h[2]}
}

// digest is the sum of a finished lane.
func digest(s *[8]uint32) (d [Size]byte) {
	h := [8]uint32{s[3], s[2], s[7], s[6], s[1], s[0], s[5], s[4]}
	for i, v := range h {
		binary.BigEndian.PutUint32(d[4*i:], v)
	}
	return d
}

// pad writes the tail of m (after its last whole 64-byte block) and
// SHA-256's padding into t, and returns its length: 64 or 128.
func pad(t *[128]byte, m []byte) int {
	n := copy(t[:], m[len(m)&^63:])
	t[n] = 0x80
	end := 64
	if n >= 56 {
		end = 128
	}
	clear(t[n+1 : end-8])
	binary.BigEndian.PutUint64(t[end-8:], uint64(len(m))<<3)
	return end
}

// sumLanes hashes msgs in Lanes lanes. Each lane hashes its message's
// whole blocks in place, then its padded tail, then takes the next
// message; the lanes run together as long as each has data, and a lane
// without any rereads another's (its state is thrown away). Nothing here
// escapes: a call allocates nothing.
func sumLanes(out [][Size]byte, msgs [][]byte) {
	var st [Lanes][8]uint32
	var tails [Lanes][128]byte
	var segs [Lanes][2][]byte // what each lane has left: in place, then its tail
	var cur [Lanes]int        // the message in each lane, or -1
	next := 0
	for i := range Lanes {
		cur[i] = -1
	}
	for {
		var p [Lanes][]byte
		k, any := 0, -1
		for i := range Lanes {
			if cur[i] < 0 && next < len(msgs) {
				m := msgs[next]
				cur[i], st[i] = next, iv
				segs[i] = [2][]byte{m[:len(m)&^63], tails[i][:pad(&tails[i], m)]}
				next++
			}
			if cur[i] < 0 {
				continue
			}
			if len(segs[i][0]) == 0 {
				segs[i] = [2][]byte{segs[i][1], nil}
			}
			p[i] = segs[i][0] // never empty: a tail is 64 or 128 bytes
			if nb := len(p[i]) / 64; any < 0 || nb < k {
				k = nb
			}
			any = i
		}
		if any < 0 {
			return
		}
		for i := range Lanes {
			if cur[i] < 0 {
				p[i] = p[any] // read, hashed into a state nobody uses
			}
		}
		blocks4(&st, &p[0][0], &p[1][0], &p[2][0], &p[3][0], k)
		for i := range Lanes {
			if cur[i] < 0 {
				continue
			}
			if segs[i][0] = segs[i][0][64*k:]; len(segs[i][0]) == 0 && segs[i][1] == nil {
				out[cur[i]] = digest(&st[i])
				cur[i] = -1
			}
		}
	}
}

// godebugOff reports whether a GODEBUG value turns off the SHA extensions
// for Go's own crypto/sha256 (the last setting of a key wins, as in Go).
func godebugOff(v string) bool {
	off := false
	for _, kv := range strings.Split(v, ",") {
		switch strings.TrimSpace(kv) {
		case "cpu.sha=off", "cpu.all=off":
			off = true
		case "cpu.sha=on":
			off = false
		}
	}
	return off
}
