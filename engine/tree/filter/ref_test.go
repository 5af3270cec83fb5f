package filter

import "strings"

// rsyncExcluded is an independent model of rsync 3.2's exclude.c
// rule_matches and wildmatch.c dowild, written from their source the
// straightforward way (recursion, memoized so that the fuzzer's inputs
// stay cheap): the oracle the fuzz target holds the automaton to. It sees
// the raw patterns, as rsync does, and knows nothing of parse or match.
func rsyncExcluded(rules []Rule, path string, isDir bool) bool {
	for _, r := range rules {
		if rsyncRuleMatches(r.Pattern, path, isDir) {
			return !r.Include
		}
	}
	return false
}

func rsyncRuleMatches(pattern, name string, isDir bool) bool {
	dirOnly := false
	if len(pattern) > 1 && pattern[len(pattern)-1] == '/' {
		pattern, dirOnly = pattern[:len(pattern)-1], true
	}
	slashCnt := strings.Count(pattern, "/")
	wild, wild2, wild2Prefix, wild3Suffix := false, false, false, false
	if i := strings.IndexAny(pattern, "*[?"); i >= 0 {
		wild = true
		if j := strings.Index(pattern[i:], "**"); j >= 0 {
			wild2 = true
			wild2Prefix = i+j == 0
			wild3Suffix = strings.HasSuffix(pattern, "***")
		}
	}
	if name == "" {
		return false
	}
	text := name
	if slashCnt == 0 && !wild2 {
		if i := strings.LastIndexByte(name, '/'); i >= 0 {
			text = name[i+1:]
		}
	} else if wild2Prefix {
		text = "/" + name
	}
	if isDir {
		if wild3Suffix {
			text += "/"
		}
	} else if dirOnly {
		return false
	}
	anchored := pattern[0] == '/'
	if anchored {
		pattern = pattern[1:]
	}
	if !wild {
		if anchored {
			return text == pattern
		}
		return text == pattern || strings.HasSuffix(text, "/"+pattern)
	}
	switch {
	case !anchored && slashCnt > 0 && !wild2: // trailing_N_elements
		n := slashCnt + 1
		for k := len(text) - 1; k >= 0; k-- {
			if text[k] == '/' {
				if n--; n == 0 {
					return refWild(pattern, text[k+1:])
				}
			}
		}
		return n == 1 && refWild(pattern, text)
	case !anchored && !wild2Prefix && wild2: // at the start or after any "/"
		if refWild(pattern, text) {
			return true
		}
		for i := 0; i < len(text); i++ {
			if text[i] == '/' && refWild(pattern, text[i+1:]) {
				return true
			}
		}
		return false
	}
	return refWild(pattern, text)
}

// refWild is dowild: does pattern p match all of text t?
func refWild(p, t string) bool {
	memo := map[[2]int]bool{}
	var do func(pi, ti int) bool
	do = func(pi, ti int) bool {
		key := [2]int{pi, ti}
		if v, ok := memo[key]; ok {
			return v
		}
		r := doWild(p, t, pi, ti, do)
		memo[key] = r
		return r
	}
	return do(0, 0)
}

func doWild(p, t string, pi, ti int, do func(int, int) bool) bool {
	for ; pi < len(p); pi, ti = pi+1, ti+1 {
		pc := p[pi]
		if pc == '*' {
			special := pi+1 < len(p) && p[pi+1] == '*'
			for pi+1 < len(p) && p[pi+1] == '*' {
				pi++
			}
			for k := ti; k <= len(t); k++ {
				if do(pi+1, k) {
					return true
				}
				if k < len(t) && t[k] == '/' && !special {
					return false
				}
			}
			return false
		}
		if ti >= len(t) {
			return false
		}
		tc := t[ti]
		switch pc {
		case '\\':
			pi++
			if pi >= len(p) || tc != p[pi] {
				return false
			}
		case '?':
			if tc == '/' {
				return false
			}
		case '[':
			end, ok := refClass(p, pi, tc)
			if end < 0 || !ok {
				return false
			}
			pi = end
		default:
			if tc != pc {
				return false
			}
		}
	}
	return ti == len(t)
}

// refClass is dowild's '[' case: whether tc is in the class at p[i] and
// the offset of its ']' (-1: malformed, rsync's ABORT_ALL).
func refClass(p string, i int, tc byte) (int, bool) {
	at := func(k int) byte {
		if k < len(p) {
			return p[k]
		}
		return 0
	}
	i++
	pc := at(i)
	if pc == '^' {
		pc = '!'
	}
	neg := pc == '!'
	if neg {
		i++
		pc = at(i)
	}
	var prev byte
	matched := false
	for {
		if pc == 0 {
			return -1, false
		}
		switch {
		case pc == '\\':
			i++
			pc = at(i)
			if pc == 0 {
				return -1, false
			}
			matched = matched || tc == pc
		case pc == '-' && prev != 0 && at(i+1) != 0 && at(i+1) != ']':
			i++
			pc = at(i)
			if pc == '\\' {
				i++
				pc = at(i)
				if pc == 0 {
					return -1, false
				}
			}
			matched = matched || (tc <= pc && tc >= prev)
			pc = 0
		case pc == '[' && at(i+1) == ':':
			s := i + 2
			k := s
			for at(k) != 0 && at(k) != ']' {
				k++
			}
			if at(k) == 0 {
				return -1, false
			}
			if k-s-1 < 0 || p[k-1] != ':' {
				pc = '['
				matched = matched || tc == '['
				break
			}
			in, ok := posixClasses[p[s:k-1]]
			if !ok {
				return -1, false
			}
			matched = matched || in(tc)
			i, pc = k, 0
		default:
			matched = matched || tc == pc
		}
		prev = pc
		i++
		pc = at(i)
		if pc == ']' {
			break
		}
	}
	return i, matched != neg && tc != '/'
}
