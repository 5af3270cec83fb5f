package filter

import (
	"errors"
	"strings"
	"testing"
)

// rules parses "- pat" / "+ pat" lines, rsync's short filter syntax.
func rules(t testing.TB, lines ...string) []Rule {
	t.Helper()
	var out []Rule
	for _, l := range lines {
		switch {
		case strings.HasPrefix(l, "- "):
			out = append(out, Rule{Pattern: l[2:]})
		case strings.HasPrefix(l, "+ "):
			out = append(out, Rule{Include: true, Pattern: l[2:]})
		default:
			t.Fatalf("rule %q: want '- ' or '+ '", l)
		}
	}
	return out
}

type entry struct {
	path  string
	dir   bool
	excl  bool
	model bool // rsyncExcluded disagrees on purpose (none today)
}

func f(path string, excl bool) entry { return entry{path: path, excl: excl} }
func d(path string, excl bool) entry { return entry{path: path, dir: true, excl: excl} }

// The cases of rsync(1)'s INCLUDE/EXCLUDE PATTERN RULES and FILTER RULES
// examples, and the corners of exclude.c's rule_matches. Each entry is
// judged on its own (pruning is the walker's: see TestRsyncListing).
var ruleCases = []struct {
	name    string
	rules   []string
	entries []entry
}{
	{"suffix any depth", []string{"- *.o"}, []entry{
		f("x.o", true), f("a/b/x.o", true), d("dir.o", true), f("x.oo", false), f("x.o/y", false)}},
	{"anchored", []string{"- /foo"}, []entry{
		f("foo", true), d("foo", true), f("a/foo", false), f("foo/bar", false), f("foobar", false)}},
	{"dir only", []string{"- foo/"}, []entry{
		d("foo", true), d("a/b/foo", true), f("foo", false), f("a/foo", false)}},
	{"anchored dir only", []string{"- /foo/"}, []entry{d("foo", true), f("foo", false), d("a/foo", false)}},
	{"inner slash: last components", []string{"- foo/*/bar"}, []entry{
		f("foo/x/bar", true), f("a/foo/x/bar", true), f("foo/bar", false), f("foo/x/y/bar", false), f("bar", false)}},
	{"anchored **", []string{"- /foo/**/bar"}, []entry{
		f("foo/x/bar", true), f("foo/x/y/bar", true), f("foo/bar", false), f("a/foo/x/bar", false)}},
	{"** prefix", []string{"- **/bar"}, []entry{f("bar", true), f("a/bar", true), f("a/b/bar", true), f("xbar", false)}},
	{"** prefix without slash", []string{"- **bar"}, []entry{f("bar", true), f("a/xbar", true), f("a/bar/c", false)}},
	{"infix ** at any boundary", []string{"- a/**/z"}, []entry{
		f("a/b/z", true), f("x/a/b/c/z", true), f("a/z", false), f("xa/b/z", false)}},
	{"trailing **", []string{"- cache/**"}, []entry{
		d("cache", false), f("cache/x", true), f("a/cache/x/y", true), f("cache", false)}},
	{"dir/*** is the dir and its contents", []string{"- cache/***"}, []entry{
		d("cache", true), f("cache", false), f("cache/x", true), d("a/cache", true)}},
	{"star stays in its component", []string{"- /a*"}, []entry{f("ab", true), f("a/b", false), d("a", true)}},
	{"star at any depth, one component", []string{"- a*c"}, []entry{f("abc", true), f("x/abbc", true), f("ab/c", false)}},
	{"** crosses slashes", []string{"- /a**c"}, []entry{f("ab/c", true), f("a/b/xc", true), f("ab/d", false)}},
	{"question mark", []string{"- ?.txt"}, []entry{f("a.txt", true), f("x/b.txt", true), f("ab.txt", false), f(".txt", false)}},
	{"question mark not slash", []string{"- /a?b"}, []entry{f("axb", true), f("a/b", false)}},
	{"class", []string{"- [ab]*.log"}, []entry{f("a1.log", true), f("b.log", true), f("c.log", false)}},
	{"negated class", []string{"- [!ab]*"}, []entry{f("c", true), f("a", false), f("x/b", false), f("x/z", true)}},
	{"caret negates", []string{"- [^ab]"}, []entry{f("c", true), f("a", false)}},
	{"range", []string{"- [0-9][0-9]"}, []entry{f("42", true), f("4a", false), f("x/07", true)}},
	{"leading ] literal", []string{"- []x]"}, []entry{f("]", true), f("x", true), f("y", false)}},
	{"dash at the edges", []string{"- [-a]", "- [b-]"}, []entry{f("-", true), f("a", true), f("b", true), f("c", false)}},
	{"posix class", []string{"- [[:digit:]]*", "- [[:upper:][:space:]]"}, []entry{
		f("1x", true), f("x1", false), f("Q", true), f(" ", true), f("q", false)}},
	{"class never matches slash", []string{"- /a[!x]b"}, []entry{f("a/b", false), f("ayb", true)}},
	{"escape in wild pattern", []string{`- \*.x*`}, []entry{f("*.xa", true), f("a.xa", false)}},
	{"backslash literal without wildcards", []string{`- a\b`}, []entry{f(`a\b`, true), f("ab", false)}},
	{"literal suffix at a boundary", []string{"- b/c"}, []entry{f("b/c", true), f("a/b/c", true), f("ab/c", false)}},
	{"first match wins", []string{"+ keep.o", "- *.o"}, []entry{f("keep.o", false), f("a/keep.o", false), f("x.o", true)}},
	{"include dirs and .c, exclude rest", []string{"+ */", "+ *.c", "- *"}, []entry{
		d("src", false), f("src/a.c", false), f("src/a.h", true), d("src/sub", false), f("README", true)}},
	{"only foo/bar.c", []string{"+ foo/", "+ foo/bar.c", "- *"}, []entry{
		d("foo", false), f("foo/bar.c", false), f("foo/baz.c", true), d("x", true)}},
	{"no rule matches: included", []string{"- *.o"}, []entry{f("a.c", false), d("a", false)}},
	{"root never excluded", []string{"- *", "- /**"}, []entry{d("", false), f("x", true)}},
	{"leading slash in the path ignored", []string{"- /a/b"}, []entry{f("/a/b", true)}},
	{"bytes, not UTF-8", []string{"- caf?", "- /\xff*"}, []entry{f("caf\xc3", true), f("\xff\xfe", true), f("café", false)}},
	{"newline in a name", []string{"- *x"}, []entry{f("a\nx", true), f("x\ny", false)}},
}

func TestRules(t *testing.T) {
	for _, tc := range ruleCases {
		t.Run(tc.name, func(t *testing.T) {
			rs := rules(t, tc.rules...)
			flt, err := New(rs)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range tc.entries {
				if got := flt.Excluded(e.path, e.dir); got != e.excl {
					t.Errorf("rules %q: Excluded(%q, dir=%v) = %v, want %v", tc.rules, e.path, e.dir, got, e.excl)
				}
				if got := rsyncExcluded(rs, strings.TrimPrefix(e.path, "/"), e.dir); got != e.excl && !e.model {
					t.Errorf("rules %q: the rsync model says %v for %q (dir=%v), the table %v", tc.rules, got, e.path, e.dir, e.excl)
				}
			}
		})
	}
}

func TestNilFilter(t *testing.T) {
	var flt *Filter
	if flt.Excluded("a", true) || flt.Rules() != nil {
		t.Fatal("a nil filter excludes nothing and has no rules")
	}
	flt, err := New(nil)
	if err != nil || flt.Excluded("a/b", false) {
		t.Fatalf("New(nil) = %v, %v: want a filter that excludes nothing", flt, err)
	}
}

func TestRulesRoundTrip(t *testing.T) {
	rs := rules(t, "+ */", "- *.tmp")
	flt, err := New(rs)
	if err != nil {
		t.Fatal(err)
	}
	got := flt.Rules()
	if len(got) != 2 || got[0] != rs[0] || got[1] != rs[1] || got[0].String() != "+ */" || got[1].String() != "- *.tmp" {
		t.Fatalf("Rules() = %v, want %v", got, rs)
	}
}

func TestBadPatterns(t *testing.T) {
	for _, tc := range []struct {
		pattern, reason string
		offset          int
	}{
		{"", "empty pattern", 0},
		{"/", "matches nothing", 0},
		{"a//b", "empty path component", 2},
		{"//", "empty path component", 1},
		{"a//", "empty path component", 2},
		{"*[ab", `unterminated "["`, 1},
		{"/x[", `unterminated "["`, 2},
		{"[]", `unterminated "["`, 0},
		{`*\`, `trailing "\"`, 1},
		{"[[:nope:]]", "unknown character class [:nope:]", 1},
		{"a\x00b", "NUL byte", 1},
		{strings.Repeat("a", MaxPatternLen+1), "longer than", MaxPatternLen},
		{strings.Repeat("?", MaxElements+1), "more than 511 pattern elements", MaxElements},
	} {
		r := Rule{Include: true, Pattern: tc.pattern}
		_, err := New([]Rule{{Pattern: "*.ok"}, r})
		var pe *PatternError
		if !errors.As(err, &pe) || !errors.Is(err, ErrPattern) {
			t.Errorf("%q: error %v, want a *PatternError", tc.pattern, err)
			continue
		}
		if !strings.Contains(pe.Reason, tc.reason) || pe.Offset != tc.offset || pe.Rule != r {
			t.Errorf("%q: %+v, want reason %q at %d", tc.pattern, pe, tc.reason, tc.offset)
		}
		if !strings.HasPrefix(err.Error(), "--include ") {
			t.Errorf("%q: %q does not name the flag", tc.pattern, err)
		}
	}
	// At the limits, accepted.
	for _, p := range []string{strings.Repeat("?", MaxElements), "[[:x]", "[a-]", "a/"} {
		if _, err := New([]Rule{{Pattern: p}}); err != nil {
			t.Errorf("%q: %v", p, err)
		}
	}
}

// TestLongPattern runs the multi-word automaton (more than 63 elements)
// against the one-word one on the same question.
func TestLongPattern(t *testing.T) {
	long := "/" + strings.Repeat("a*", 40) + "**z"
	short := "/a*a*a**z"
	name := strings.Repeat("ab", 60) + "/q/z"
	for _, p := range []string{long, short} {
		flt, err := New([]Rule{{Pattern: p}})
		if err != nil {
			t.Fatal(err)
		}
		if got, want := flt.Excluded(name, false), p == short || strings.Count(name, "a") >= 40; got != want {
			t.Errorf("%d-byte pattern: Excluded = %v, want %v", len(p), got, want)
		}
		if flt.Excluded(name+"x", false) {
			t.Errorf("%d-byte pattern matched a name not ending in z", len(p))
		}
	}
}

// TestAdversarial: patterns that make a backtracking matcher exponential
// cost one pass here. A budget of allocations stands in for time (the
// machine's speed is not the test's business): matching allocates nothing.
func TestAdversarial(t *testing.T) {
	name := strings.Repeat("a", 4000)
	for _, p := range []string{"**a**a**a**a**a**a**a**b", "*a*a*a*a*a*a*a*a*b", "/" + strings.Repeat("a*", 200) + "b"} {
		flt, err := New([]Rule{{Pattern: p}})
		if err != nil {
			t.Fatal(err)
		}
		var got bool
		allocs := testing.AllocsPerRun(10, func() { got = flt.Excluded(name, false) })
		if got {
			t.Errorf("%q matched %d a's", p, len(name))
		}
		if allocs > 0 {
			t.Errorf("%q: %v allocations per match, want 0", p, allocs)
		}
	}
}

func FuzzExcluded(f *testing.F) {
	for _, tc := range ruleCases {
		for i, e := range tc.entries {
			f.Add(tc.rules[i%len(tc.rules)], e.path, e.dir)
		}
	}
	f.Add("**a**a**b", "aaaaaaaaaaaaaaaaaaaaaa/aaaa", false)
	f.Add("[[:alpha:]-z]/**", "x/-", true)
	f.Fuzz(func(t *testing.T, pattern, path string, isDir bool) {
		if len(pattern) > 64 || len(path) > 128 {
			return // the model recurses; the automaton has TestAdversarial
		}
		rs := []Rule{{Pattern: pattern}}
		flt, err := New(rs)
		if err != nil {
			if !errors.Is(err, ErrPattern) {
				t.Fatalf("%q: %v is not an ErrPattern", pattern, err)
			}
			return
		}
		path = strings.TrimPrefix(path, "/")
		if path == "" || strings.HasPrefix(path, "/") || strings.Contains(path, "//") || strings.HasSuffix(path, "/") || strings.IndexByte(path, 0) >= 0 {
			return // not a path a walker gives
		}
		if got, want := flt.Excluded(path, isDir), rsyncExcluded(rs, path, isDir); got != want {
			t.Fatalf("pattern %q, path %q, dir %v: Excluded = %v, the rsync model %v", pattern, path, isDir, got, want)
		}
	})
}

func BenchmarkExcluded(b *testing.B) {
	flt, err := New(rules(b, "+ */", "+ *.db", "- /tmp/**", "- **/cache/*.tmp", "- *"))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		flt.Excluded("base/16384/pg_internal/cache/2619_fsm.tmp", false)
	}
}
