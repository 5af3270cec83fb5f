package filter

// A matcher runs a pattern as a nondeterministic automaton, all its
// states at once in a bit set (the shift-and method): state i means "the
// first i elements have matched", state n (the number of elements)
// accepts. Each byte of the path moves every live state in a few word
// operations, so matching never backtracks and costs
// O(len(path) × (n+1)/64) whatever the pattern.
//
// The parser makes every run of stars one element, so no two star
// elements are adjacent: the states a star lets match nothing are reached
// by one shift (close).
type matcher struct {
	n     int      // elements; bit n is the accepting state
	words int      // (n+1)/64 rounded up, at most maxWords
	adv   []uint64 // [c*words+w]: states whose element consumes byte c and moves on
	stay  []uint64 // [c*words+w]: star states that consume byte c and stay
	skip  []uint64 // star states, which may also match nothing
	start states   // state 0 and what it reaches matching nothing
}

const maxWords = (MaxElements + 1 + 63) / 64

type states [maxWords]uint64

func compile(toks []token) *matcher {
	m := &matcher{n: len(toks), words: (len(toks) + 64) / 64}
	m.adv = make([]uint64, 256*m.words)
	m.stay = make([]uint64, 256*m.words)
	m.skip = make([]uint64, m.words)
	for i, t := range toks {
		w, bit := i/64, uint64(1)<<(i%64)
		for c := 0; c < 256; c++ {
			k := c*m.words + w
			switch t.kind {
			case tokByte:
				if byte(c) == t.b {
					m.adv[k] |= bit
				}
			case tokOne:
				if c != '/' {
					m.adv[k] |= bit
				}
			case tokClass:
				if t.set.has(byte(c)) {
					m.adv[k] |= bit
				}
			case tokStar:
				if c != '/' {
					m.stay[k] |= bit
				}
			case tokAnyPath:
				m.stay[k] |= bit
			}
		}
		if t.kind == tokStar || t.kind == tokAnyPath {
			m.skip[w] |= bit
		}
	}
	m.start[0] = 1
	m.close(&m.start)
	return m
}

// close adds the states the live star states reach by matching nothing.
func (m *matcher) close(s *states) {
	var carry uint64
	for w := 0; w < m.words; w++ {
		e := s[w] & m.skip[w]
		s[w] |= e<<1 | carry
		carry = e >> 63
	}
}

// match reports whether the pattern matches the whole of text: path,
// with a "/" before it when slashPre and after it when slashSuf. With
// boundary, a match may also start after any "/" of text.
func (m *matcher) match(slashPre bool, path string, slashSuf, boundary bool) bool {
	if m.words == 1 {
		return m.match1(slashPre, path, slashSuf, boundary)
	}
	s := m.start
	step := func(c byte) bool {
		var carry, live uint64
		base := int(c) * m.words
		for w := 0; w < m.words; w++ {
			a := s[w] & m.adv[base+w]
			s[w] = a<<1 | carry | s[w]&m.stay[base+w]
			carry = a >> 63
		}
		m.close(&s)
		if boundary && c == '/' {
			for w := 0; w < m.words; w++ {
				s[w] |= m.start[w]
			}
		}
		for w := 0; w < m.words; w++ {
			live |= s[w]
		}
		return live != 0
	}
	if slashPre && !step('/') {
		return false
	}
	for i := 0; i < len(path); i++ {
		if !step(path[i]) && !boundary {
			return false
		}
	}
	if slashSuf {
		step('/')
	}
	return s[m.n/64]&(1<<(m.n%64)) != 0
}

// match1 is match for patterns of fewer than 64 elements: one word.
func (m *matcher) match1(slashPre bool, path string, slashSuf, boundary bool) bool {
	start, skip := m.start[0], m.skip[0]
	s := start
	step := func(c byte) {
		a := s & m.adv[c]
		s = a<<1 | s&m.stay[c]
		s |= (s & skip) << 1
		if boundary && c == '/' {
			s |= start
		}
	}
	if slashPre {
		step('/')
	}
	for i := 0; i < len(path); i++ {
		step(path[i])
		if s == 0 && !boundary {
			return false
		}
	}
	if slashSuf {
		step('/')
	}
	return s&(1<<m.n) != 0
}
