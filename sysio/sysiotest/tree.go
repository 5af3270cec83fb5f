package sysiotest

import (
	"fmt"
	"strings"
	"testing"

	"github.com/pdiffagent/pdiffagent/sysio/sysiotest/treediff"
)

// TreeOptions says what TreeDiff compares (treediff.Options).
type TreeOptions = treediff.Options

// TreeDiff returns the differences of the trees at a and b (treediff.Diff).
func TreeDiff(a, b string, opts TreeOptions) ([]string, error) { return treediff.Diff(a, b, opts) }

// TreeEqual fails the test, listing the differences (the first 30), unless
// the trees at a and b are equal as opts says; it reports whether they were.
func TreeEqual(t testing.TB, a, b string, opts TreeOptions) bool {
	t.Helper()
	diffs, err := TreeDiff(a, b, opts)
	if err != nil {
		t.Fatalf("comparing trees %s and %s: %v", a, b, err)
	}
	if len(diffs) == 0 {
		return true
	}
	const show = 30
	more := ""
	if len(diffs) > show {
		more = fmt.Sprintf("\n  … and %d more", len(diffs)-show)
		diffs = diffs[:show]
	}
	t.Errorf("trees %s and %s differ:\n  %s%s", a, b, strings.Join(diffs, "\n  "), more)
	return false
}
