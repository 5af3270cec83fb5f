package filter

import (
	"errors"
	"fmt"
	"strings"
)

// A Rule includes or excludes the entries its pattern matches.
type Rule struct {
	Include bool   // false: exclude (--exclude), true: include (--include)
	Pattern string // rsync pattern syntax (doc.go)
}

// String is the rule as rsync's filter syntax writes it: "- PATTERN" or
// "+ PATTERN".
func (r Rule) String() string {
	if r.Include {
		return "+ " + r.Pattern
	}
	return "- " + r.Pattern
}

// Limits of one pattern, checked by New.
const (
	MaxPatternLen = 4096 // bytes, as a path may be
	MaxElements   = 511  // literal bytes, wildcards and classes
)

// ErrPattern is what every pattern error Is.
var ErrPattern = errors.New("filter: bad pattern")

// PatternError says why a rule's pattern was refused.
type PatternError struct {
	Rule   Rule
	Offset int // byte offset in Pattern where the problem is
	Reason string
}

func (e *PatternError) Error() string {
	flag := "--exclude"
	if e.Rule.Include {
		flag = "--include"
	}
	return fmt.Sprintf("%s %q: %s (at byte %d)", flag, e.Rule.Pattern, e.Reason, e.Offset)
}

// Is makes every PatternError match ErrPattern.
func (e *PatternError) Is(target error) bool { return target == ErrPattern }

// A Filter is a checked list of rules; nil excludes nothing. It is
// immutable and safe for concurrent use.
type Filter struct {
	rules []rule
}

// rule is a compiled Rule: how the path is presented to the matcher
// (rsync's rule_matches) and the matcher.
type rule struct {
	Rule
	dirOnly  bool // trailing "/"
	mode     matchMode
	last     int  // modeLast: components the pattern spans
	slashPre bool // "**" prefix: the path is matched as "/"+path
	slashSuf bool // "/***" suffix: a directory is matched as path+"/"
	m        *matcher
}

type matchMode uint8

const (
	modeName     matchMode = iota // the last component only
	modeWhole                     // the whole path (anchored, or "**" prefix)
	modeLast                      // the last rule.last components
	modeBoundary                  // the whole path, or any part after a "/"
)

// New checks and compiles the rules, in order. It returns the first bad
// pattern as a *PatternError.
func New(rules []Rule) (*Filter, error) {
	f := &Filter{rules: make([]rule, 0, len(rules))}
	for _, r := range rules {
		c, err := compileRule(r)
		if err != nil {
			return nil, err
		}
		f.rules = append(f.rules, c)
	}
	return f, nil
}

// Rules returns the rules the filter was made from.
func (f *Filter) Rules() []Rule {
	if f == nil {
		return nil
	}
	out := make([]Rule, len(f.rules))
	for i, r := range f.rules {
		out[i] = r.Rule
	}
	return out
}

// Excluded reports whether the entry at relPath (relative to the transfer
// root, "/"-separated, as "a/b/c"; a leading "/" is ignored) is left out:
// the first rule matching it is an exclude. isDir says whether the entry
// is a directory (not a symlink to one); an excluded directory is not to
// be descended into. The root ("") is never excluded.
func (f *Filter) Excluded(relPath string, isDir bool) bool {
	if f == nil {
		return false
	}
	relPath = strings.TrimPrefix(relPath, "/")
	if relPath == "" {
		return false
	}
	for i := range f.rules {
		if f.rules[i].matches(relPath, isDir) {
			return !f.rules[i].Include
		}
	}
	return false
}

// compileRule reads r.Pattern the way rsync's parse_filter_str and
// rule_matches do (doc.go).
func compileRule(r Rule) (rule, error) {
	c := rule{Rule: r}
	p := r.Pattern
	bad := func(off int, reason string) (rule, error) {
		return rule{}, &PatternError{Rule: r, Offset: off, Reason: reason}
	}
	switch {
	case p == "":
		return bad(0, "empty pattern")
	case len(p) > MaxPatternLen:
		return bad(MaxPatternLen, fmt.Sprintf("pattern longer than %d bytes", MaxPatternLen))
	case p == "/":
		return bad(0, `"/" alone matches nothing (the root is always included)`)
	}
	if i := strings.IndexByte(p, 0); i >= 0 {
		return bad(i, "NUL byte")
	}
	if len(p) > 1 && p[len(p)-1] == '/' {
		c.dirOnly = true
		p = p[:len(p)-1]
	}
	if i := strings.Index(p, "//"); i >= 0 {
		return bad(i+1, "empty path component")
	}
	anchored := p[0] == '/'
	if anchored {
		p = p[1:]
	}
	if p == "" || p[len(p)-1] == '/' {
		return bad(len(r.Pattern)-1, "empty path component")
	}
	wild := strings.ContainsAny(p, "*?[")
	toks, err := parse(p, wild)
	if err != nil {
		var pe *PatternError
		if errors.As(err, &pe) {
			pe.Rule = r
			if anchored {
				pe.Offset++
			}
		}
		return rule{}, err
	}
	wild2 := false
	for _, t := range toks {
		wild2 = wild2 || t.kind == tokAnyPath
	}
	slashes := strings.Count(p, "/") // unanchored: rsync's slash_cnt
	c.slashPre = !anchored && len(toks) > 0 && toks[0].kind == tokAnyPath
	// rsync's "***" suffix; a directory gains a "/" that only a "/"
	// before the final "**" could need.
	n := len(toks)
	c.slashSuf = strings.HasSuffix(p, "***") && n >= 2 && toks[n-1].kind == tokAnyPath &&
		toks[n-2].kind == tokByte && toks[n-2].b == '/'
	switch {
	case anchored:
		c.mode = modeWhole
	case slashes == 0 && !wild2:
		c.mode = modeName
	case !wild2:
		c.mode, c.last = modeLast, slashes+1
	case c.slashPre:
		c.mode = modeWhole
	default:
		c.mode = modeBoundary
	}
	c.m = compile(toks)
	return c, nil
}

// matches reports whether the rule's pattern matches the entry.
func (r *rule) matches(path string, isDir bool) bool {
	if r.dirOnly && !isDir {
		return false
	}
	suf := r.slashSuf && isDir
	switch r.mode {
	case modeName:
		if i := strings.LastIndexByte(path, '/'); i >= 0 {
			path = path[i+1:]
		}
	case modeLast:
		n := r.last
		i := len(path)
		for n > 0 {
			i = strings.LastIndexByte(path[:i], '/')
			n--
			if i < 0 {
				break
			}
		}
		if n > 0 {
			return false // fewer components than the pattern has
		}
		path = path[i+1:]
	}
	return r.m.match(r.slashPre, path, suf, r.mode == modeBoundary)
}
