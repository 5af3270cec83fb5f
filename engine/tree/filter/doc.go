// Package filter decides which entries of a directory tree a sync
// carries, by rsync's --include/--exclude rules for the common cases.
//
// A Filter is a list of rules, each an include or an exclude of one
// pattern, checked in order against an entry's path relative to the
// transfer root ("a/b/c", as fs.WalkDir gives it): the first rule that
// matches decides; an entry no rule matches is included. The root itself
// ("") is never excluded. A walker asks about a directory before reading
// it and does not descend into an excluded one, as rsync does, so
// `--include 'a/b/keep' --exclude '*'` excludes "a" and with it everything
// under it, while `--include '*/' --include '*.db' --exclude '*'` walks
// every directory and keeps only the .db files.
//
// Pattern rules (rsync(1), INCLUDE/EXCLUDE PATTERN RULES; exclude.c's
// rule_matches and wildmatch.c are the reference):
//
//   - `*` matches any run of bytes except `/`; `**` (two or more stars in
//     a row) matches any run including `/`; `?` one byte except `/`;
//     `[...]` a character class (ranges, `!` or `^` to negate, `]` first
//     is literal, `\` escapes, POSIX `[:alpha:]` and the like on ASCII), never `/`.
//     In a pattern with a wildcard, `\` makes the next byte literal; in a
//     pattern without one, `\` is an ordinary byte (as rsync).
//   - A trailing `/` makes the rule match directories only.
//   - A leading `/` anchors the pattern: it matches the whole relative
//     path from the root.
//   - A pattern with no `/` (a trailing one aside) and no `**` matches the
//     last component of the path, at any depth: `*.tmp` matches "x.tmp"
//     and "a/b/x.tmp".
//   - An unanchored pattern with an inner `/` and no `**` matches the last
//     components of the path, as many as the pattern has: `b/*.tmp`
//     matches "a/b/x.tmp", not "b/c/x.tmp".
//   - An unanchored pattern with `**` is tried at the start of the path
//     and after every `/`; one that starts with `**` is matched against
//     the path with a `/` before it, so `**/x` matches "x" and "a/b/x".
//     `a/**/b` does not match "a/b" (as rsync; unlike git).
//   - A pattern ending in `/***` also matches the directory itself:
//     `dir/***` is "dir" and everything under it.
//
// Matching is on bytes, not characters (names need not be UTF-8). A
// pattern compiles to a bit-parallel automaton (match.go): one pass over
// the path, one word operation per byte for patterns of up to 63 elements,
// so no pattern can make matching slower than O(len(path) × len(pattern)/64);
// rsync's backtracking wildmatch has no such bound.
//
// Differences from rsync, all deliberate:
//
//   - Patterns are checked up front; those rsync would accept but could
//     never match are errors: an empty pattern, "/", an empty component
//     ("a//b"), an unterminated "[", a trailing "\", an unknown
//     "[:class:]", a NUL byte, more than MaxPatternLen bytes or
//     MaxElements elements.
//   - Only --include and --exclude: no --filter rules, merge files,
//     modifiers, "!" to clear the list, or the "+ "/"- " prefixes rsync
//     reads from an --exclude argument (a pattern here is always literal).
//   - Paths are relative to the tree being synced, as rsync's are with a
//     trailing slash on the source (`rsync -a SRC/ DST`); without it rsync
//     matches "SRC/a/b", so an anchored pattern needs the source's name.
//   - An escaped `\*\*` is literal everywhere; rsync still counts its raw
//     "**" when choosing how to match the path (full path or last name).
package filter
