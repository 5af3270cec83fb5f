// Package bench owns pdiffagent's whole-system measurements and the data
// they run on.
//
// It provides:
//
//   - test data: GenerateRandom writes incompressible, seed-determined data
//     (so compression cannot cheat), CopyFile clones it, and Mutate changes
//     an exact number of blocks of a copy (or inserts bytes near the start,
//     shifting everything after them);
//   - speed floors: FloorRead (a page-cache read of the files on all cores)
//     and FloorSHA256 (sha256 of the matching fraction of the blocks of both
//     copies on all cores). The engine cannot be faster than the sha256
//     floor, because tier 2 must confirm every matching block on both sides;
//     a round reports its time as a ratio to that floor (or to the read
//     floor when it is larger, as when every block changed and nothing is
//     left to confirm);
//   - Compare, a parallel byte-for-byte check of a result;
//   - Run, which drives rounds (copy, mutate, warm, floors, sync, verify)
//     for one or more Tools, alternating them inside one process as the
//     design asks, and Report/WriteTable/WriteJSON to present them.
//
// Every round records whether the files were warm (in the page cache, by
// mincore) when the tool started, because this VM evicts idle page cache
// within minutes. Peak RSS comes from getrusage(RUSAGE_SELF) and is
// therefore process-wide (the bench harness, the floors and every tool that
// runs in-process count together): it is an upper bound for one sync.
//
// Nothing here is used by the agent itself.
package bench
