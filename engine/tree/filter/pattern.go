package filter

import "fmt"

// A pattern is a list of elements, each matching one byte or a run.
type tokKind uint8

const (
	tokByte    tokKind = iota // the byte b
	tokOne                    // "?": one byte but "/"
	tokClass                  // "[...]": one byte of set ("/" never in it)
	tokStar                   // "*": any run of bytes without "/"
	tokAnyPath                // "**": any run of bytes
)

type token struct {
	kind tokKind
	b    byte
	set  *byteSet
}

// byteSet is a set of bytes, one bit each.
type byteSet [4]uint64

func (s *byteSet) add(c byte)           { s[c>>6] |= 1 << (c & 63) }
func (s *byteSet) has(c byte) bool      { return s[c>>6]&(1<<(c&63)) != 0 }
func (s *byteSet) addRange(lo, hi byte) { addIf(s, func(c byte) bool { return c >= lo && c <= hi }) }

func addIf(s *byteSet, in func(byte) bool) {
	for c := 0; c < 256; c++ {
		if in(byte(c)) {
			s.add(byte(c))
		}
	}
}

// parse splits a pattern (without its anchoring and trailing slashes)
// into elements. Without wildcards every byte is literal, a backslash
// too (rsync matches such a pattern with strcmp).
func parse(p string, wild bool) ([]token, error) {
	bad := func(off int, reason string) ([]token, error) {
		return nil, &PatternError{Offset: off, Reason: reason}
	}
	var toks []token
	for i := 0; i < len(p); i++ {
		if len(toks) == MaxElements {
			return bad(i, fmt.Sprintf("more than %d pattern elements", MaxElements))
		}
		c := p[i]
		if !wild {
			toks = append(toks, token{kind: tokByte, b: c})
			continue
		}
		switch c {
		case '\\':
			if i+1 == len(p) {
				return bad(i, `trailing "\"`)
			}
			i++
			toks = append(toks, token{kind: tokByte, b: p[i]})
		case '*':
			j := i
			for j+1 < len(p) && p[j+1] == '*' {
				j++
			}
			k := tokStar
			if j > i {
				k = tokAnyPath
			}
			toks = append(toks, token{kind: k})
			i = j
		case '?':
			toks = append(toks, token{kind: tokOne})
		case '[':
			set, end, err := parseClass(p, i)
			if err != nil {
				return nil, err
			}
			toks = append(toks, token{kind: tokClass, set: set})
			i = end
		default:
			toks = append(toks, token{kind: tokByte, b: c})
		}
	}
	return toks, nil
}

// parseClass reads the class opening at p[i] == '[' as rsync's wildmatch
// does and returns its set and the offset of its closing ']'.
func parseClass(p string, i int) (*byteSet, int, error) {
	unterminated := &PatternError{Offset: i, Reason: `unterminated "["`}
	set := new(byteSet)
	j := i + 1
	neg := j < len(p) && (p[j] == '!' || p[j] == '^')
	if neg {
		j++
	}
	prev := -1 // the last single byte, which a '-' may extend to a range
	for first := true; ; first = false {
		if j >= len(p) {
			return nil, 0, unterminated
		}
		c := p[j]
		switch {
		case c == ']' && !first:
			if neg {
				for w := range set {
					set[w] = ^set[w]
				}
			}
			set[0] &^= 1 << '/' // a class never matches "/"
			return set, j, nil
		case c == '\\':
			if j++; j >= len(p) {
				return nil, 0, unterminated
			}
			set.add(p[j])
			prev = int(p[j])
		case c == '-' && prev >= 0 && j+1 < len(p) && p[j+1] != ']':
			j++
			hi := p[j]
			if hi == '\\' {
				if j++; j >= len(p) {
					return nil, 0, unterminated
				}
				hi = p[j]
			}
			set.addRange(byte(prev), hi)
			prev = -1
		case c == '[' && j+1 < len(p) && p[j+1] == ':':
			end := -1
			for k := j + 2; k < len(p); k++ {
				if p[k] == ']' {
					end = k
					break
				}
			}
			if end < 0 {
				return nil, 0, unterminated
			}
			if end-(j+2) < 1 || p[end-1] != ':' { // no ":]": a literal '['
				set.add('[')
				prev = '['
				break
			}
			name := p[j+2 : end-1]
			in, ok := posixClasses[name]
			if !ok {
				return nil, 0, &PatternError{Offset: j, Reason: fmt.Sprintf("unknown character class [:%s:]", name)}
			}
			addIf(set, in)
			prev = -1
			j = end
		default:
			set.add(c)
			prev = int(c)
		}
		j++
	}
}

// posixClasses are the [:name:] classes, on ASCII as in the C locale.
var posixClasses = map[string]func(byte) bool{
	"alnum":  func(c byte) bool { return isAlpha(c) || isDigit(c) },
	"alpha":  isAlpha,
	"blank":  func(c byte) bool { return c == ' ' || c == '\t' },
	"cntrl":  func(c byte) bool { return c < 32 || c == 127 },
	"digit":  isDigit,
	"graph":  func(c byte) bool { return c > 32 && c < 127 },
	"lower":  func(c byte) bool { return c >= 'a' && c <= 'z' },
	"print":  func(c byte) bool { return c >= 32 && c < 127 },
	"punct":  func(c byte) bool { return c > 32 && c < 127 && !isAlpha(c) && !isDigit(c) },
	"space":  func(c byte) bool { return c == ' ' || (c >= '\t' && c <= '\r') },
	"upper":  func(c byte) bool { return c >= 'A' && c <= 'Z' },
	"xdigit": func(c byte) bool { return isDigit(c) || (c|0x20 >= 'a' && c|0x20 <= 'f') },
}

func isAlpha(c byte) bool { return c|0x20 >= 'a' && c|0x20 <= 'z' }
func isDigit(c byte) bool { return c >= '0' && c <= '9' }
