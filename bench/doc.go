// Package bench owns pdiffagent's whole-system measurements and the data
// they run on; `pdiffagent bench` (cmd/pdiffagent/bench*.go) drives it.
//
// It provides:
//
//   - test data: GenerateRandom writes incompressible, seed-determined data
//     (so compression cannot cheat), CopyFile clones it, and Mutate changes
//     an exact number of blocks of a copy (Random: a few bytes of each
//     chosen block; Blocks: chosen blocks wholly replaced; or a Prefix as
//     pdiffcopy measured), or inserts bytes, shifting everything after
//     them (Insert: 4 KiB 1 MiB into the file, the honest worst case for
//     fixed blocks and the case for the rolling search, or any length with
//     MutateInsert: Config.InsertLens; the copy gains the bytes, so the
//     sync deletes them; Inserts: 100 runs of 100 bytes at random
//     offsets); MutatePages rewrites random 8 KiB pages (Pages: a database
//     between two syncs);
//   - disk and CPU floors: FloorRead (a page-cache read of both copies on
//     all cores) and FloorStrong (the run's strong hash, sha256 unless
//     -m says otherwise, of the matching blocks of both copies on all
//     cores: tier 2 must confirm every matching block on both sides, so
//     no verified sync is faster);
//   - network floors (netfloor*.go): plain TCP and TLS 1.3 with one
//     connection per worker, raw quic-go with the streams spread over the
//     connections, over loopback, as pdiffagent's two transports use them.
//     ServeFloor and SendFloor are the two ends; the command runs each in a
//     child process of its own (NetConfig.Measure: `bench peer-floor-serve`
//     and `bench peer-floor-send`), as it runs the two ends of a sync, so
//     that the floors do not share one Go scheduler the syncs do not share;
//   - Tools: each brings a target up to date with its source. The command
//     runs every pdiffagent sync in child processes (RunChild, StartDaemon)
//     and RsyncTool runs rsync against a throwaway rsync daemon, so that
//     each end's peak RSS is its own (rss.go explains why it is read from
//     /proc and not from getrusage). A tool's Prepare, untimed, makes the
//     state it measures from that the mutation does not: the Cached tool's
//     records (cached.go);
//   - Run, which for each size generates a source and a copy, then for each
//     pattern and changed fraction mutates the copy, warms (or evicts) both
//     files, runs every tool in an order that rotates, verifies the result
//     byte for byte (Compare) and flushes it. A sync starts from the
//     previous verified result mutated again with the round's seed, so all
//     tools of a round see the same target and nothing is re-copied;
//   - the tree case (tree*.go, issue 16): GenerateTree writes a database
//     directory's shape (DefaultTreeSpec: 2,000 files of 4 KiB to 2 MiB
//     and three of 512 MiB, every size scalable, 20 symlinks, 2 empty
//     directories), CopyTree copies it (symlinks as links, their own
//     mtimes too; the rsync daemon does not munge them),
//     MutateTree rewrites 5% of the small files and changes 10% of the
//     large files' blocks, the same for the same seed; RunTree brings the
//     mutated copy back with each tool (rsync -a --inplace --no-whole-file
//     to its daemon: RsyncTreeTool; pdiffagent push DIR/ HOST:PORT/PATH,
//     wired in cmd), verifies it with treediff.Diff (bytes, modes,
//     mtimes; the comparison sysiotest.TreeEqual uses, kept in a package
//     of its own so the binary does not link package testing), runs it
//     again with nothing changed, and WriteTree and TreeTargets report
//     it. A tool whose Sync wraps ErrUnsupported (a push that does not
//     take directories) is reported as skipped;
//   - presentation: SummaryTable (one row per round, the tools side by side
//     with the floors), WireTable (the bytes each tool put on the wire both
//     ways, rsync's from its --stats), detail rows, CSV, JSON, Evaluate (the goals, PASS or
//     MISS), ScaleTable and WriteGrowth for several sizes, and an SVG chart
//     (svg.go) written by hand, without dependencies.
//
// Every result records whether both files were in the page cache (mincore)
// when the tool started, because this VM evicts idle page cache within
// minutes, and the report records how busy the machine was with other work
// during the run (load.go): both ends share its cores.
//
// Nothing here is used by the agent itself.
package bench
