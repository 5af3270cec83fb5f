// Package tree syncs directory trees: a database directory or a folder of
// VM images in one command, parallel across files and within them. It
// runs the single-file engine on each file and adds what a tree has beyond
// files; it owns no block math.
//
// The pipeline. Sync walks the source and the target together, depth
// first, one directory at a time (walk.go): both listings, sorted by name,
// are merged, so each name is planned once, from two lstats. A name only
// in the target is deleted with Options.Delete (RemoveAll of that entry:
// a symlink is removed, never followed, so nothing outside the target is
// touched); a directory is made (owner-writable until its contents are
// done) and entered; a symlink is recreated as a link with the same
// target text, never followed or resolved; a device is made with
// AllowDevices (mknod, root), otherwise skipped with a warning, as FIFOs
// and sockets always are; a regular file whose size and mtime equal the
// target's is skipped after the stat (the quick check; reported as
// skipped, not verified, unless both copies have current block-hash
// records with the same digest, records.go: a local copy's looked up
// when the quick check skips it, a server's carried in its listing;
// ChecksumAll turns the quick check off), and any other goes to the
// scheduler as a job. Extended attributes and ACLs are not synced.
//
// Workers (sched.go). The tree has Session.Workers workers and
// SlotsPerWorker times as many slots. A file takes one worker (and slot)
// per minStripeBlocks of its blocks, at least one, at most every worker: a
// file of a few blocks runs on one, side by side with others, so many
// small files keep every worker busy, while a large one is striped across
// all of them by the engine exactly as a single-file sync (its
// Params.Workers), and the slots it leaves let small files, which mostly
// wait on round trips, run beside it (a network tree opens a stream per
// slot). The walker waits for a file's slots before it goes on, which bounds
// the files in flight, and with them the memory: the listings of the
// directories on the walker's path, the files in flight, the directories
// that hold them (dirs.go) and, with HardLinks, one record per
// multiply-linked file. A million-file tree never holds a million
// entries, nor does a directory of a million names (names.go): its
// listing streams (Listing), read in chunks of at most the sort threshold
// (64 K names, SetSortThreshold), each chunk sorted and spilled to an
// unlinked temporary file, the runs merged as the walker reads them; a
// directory that fits in one chunk is sorted in memory. So each side
// holds at most a threshold of names per directory on the walker's path.
//
// Where a tree push's time goes (measured 2026-12-01 on the issue-16
// tree: 2,000 small files, 5% rewritten, three 512 MiB files with 10% of
// their blocks changed, the server's records stale, the client's
// current; 2 cores, load 6-10 from other work, so CPU-seconds and
// profiles, not wall times). The server: about 2.2 CPU-s, of which the
// tier-2 sha256 of its kept blocks (1.38 GB, the floor of a verified
// sync without valid records) 1.1-1.2, refinement (sub-block hashes of
// the changed blocks, and the records of the patched blocks) 0.3, reads
// 0.16-0.35, xxhash 0.15, TLS 0.1-0.2; per-file opening and the control
// requests under 0.1. The client: 1.1 CPU-s, of which 0.51 was the
// rolling search over the rewritten small files (each was a sync of its
// own, so none reached the search's streak; now shared:
// engine.SearchShare), 0.6-0.8 since. The walk meets d00/ .. d03/ (all
// the small files) before large0.img: a trace had the 100 changed small
// files take the first 1.0 of 3.2 s (load 7.5), two large files the next
// 1.6 together, the third 0.6 alone. Queueing small files so that the
// walker reaches the large files at once (they then went first, with the
// small files in the slots left, or beside one large file at a time)
// measured no better in interleaved pairs at load 5.5-8 (2.5-3.8 s
// against 2.2-3.7), the small files then running in fewer slots in the
// tail: not kept. Sharing refinement's streak across the files as the
// search's is (so that rewritten small files stop being refined) saved
// about 0.07 CPU-s on each side but sent 168-175 MB instead of 100: the
// small files, walked first, stopped refinement for the large files'
// few-byte changes but for its probes. Shared now (engine.RecvShare,
// with the receiver's keeping of old blocks for the search), a long
// stripe (refineProbe blocks or more) probes its first needed block, so
// a large file's first changed block turns refinement back on: the
// bench's push sends 101.6-102.7 MB instead of 100.6 and its two ends
// use 1.13 CPU-s instead of 1.16 (medians of six interleaved pairs, wall
// 0.64 s against 0.66; 100 small files alone, the server's CPU 0.22-0.24
// -> 0.17-0.19 s). The final TreeFlush (one
// syncfs) took 0.06-0.09 s; 100 files of up to 1 MiB written and their
// 24 directories took 0.35-1.2 s to fsync one by one, against 0.05-0.17
// s for one sync (3 pairs at load 7), hence maxDurable (durable.go).
//
// Metadata. The engine gives each file it runs on its mode and mtime (and
// owner with Session.Owner) after the data; a skipped file gets a
// differing mode or owner without being read. A directory's owner, mode
// and mtime are set once everything inside it is done (a reference count:
// dirs.go), since each entry made inside moves its mtime. Hard links
// (links.go, -H): the first name of a source inode is synced, later names
// are linked to its target once it is done.
//
// Durability (durable.go). The engine runs with DeferSync: no fsync per
// file. At the end the files written and the directories whose entries
// changed are fsynced together, or the filesystem with one syncfs once
// there are more than maxDurable of them. A crash before that can leave
// files partly written, or directories without their final mode and
// mtime; a partly written file differs in size or mtime (the engine sets
// the mtime last), so the rerun's quick check does not skip it, and the
// rerun converges. With Options.Atomic each file is replaced by a rename
// once complete (engine.SyncLocalAtomic): a crash leaves each file old or
// new, never mixed.
//
// Errors. A path that cannot be synced (unreadable, changed during the
// sync, a target directory in the way) is reported through Options.Warn
// and in Stats.Failed; the rest of the tree completes and Sync returns
// ErrPartial. A cancelled context stops the walk, waits for the files in
// flight, and returns its error.
//
// Filters (engine/tree/filter) see paths relative to the transfer's root,
// with the source's base name in front when the source was named without
// a trailing slash (Resolve: rsync's rule). An excluded directory is not
// entered, and excluded target entries survive Delete unless
// DeleteExcluded.
//
// The block-hash cache (records.go). With Options.Engine.Cache, files of
// at least minRecordedBlocks blocks use their records as a single-file
// sync does (a side whose copy is unchanged since its record reads only
// the blocks it sends or refines), and make new ones; smaller files keep
// none (a durable invalidation before a recorded file is written costs an
// fsync, more than reading a small file, which the quick check skips when
// unchanged anyway). A record trusts its file's data, which DeferSync
// leaves undurable until the tree's end: so the records a tree makes wait
// in a cache.Deferred (engine.Options.Records), committed only once Flush
// succeeded (a local target's Flush fsyncs every file recorded, written
// or not: an interrupted run may have left it unsynced), or mid-tree
// after a syncfs of their own once cache.MaxDeferred wait. A crash before
// that leaves no record of the tree's new data; a rerun reads those files.
// The server does the same for its side of a tree (after the client's
// TreeFlush, or at a pull's end).
//
// Push and pull (agent.PushTree, agent.PullTree). The walker above is
// reused whole: it reads a Source and writes a Target (target.go), each a
// local directory or a server's (SyncTo: a server's Target; SyncFrom: a
// server's Source, whose files a Fetch brings into the local target), so
// every direction runs one plan. The client always drives. A session with wire.CapTree opens on a directory
// beneath the server's root (Open with wire.OpTree); on its control
// stream, which no engine run uses, the client asks for one directory's
// listing at a time (the server sorts it as a local walker does, in
// bounded memory, and sends it in batches of at most wire.MaxTreeBatch,
// each name stat'ed as it goes; the client takes it whole, to free the
// control stream, and holds it past the threshold on disk, refusing a
// listing that is not sorted or has a name that is not a plain name:
// DirentBuffer) and merges it with its own as walk.go does. To a client
// with wire.CapTreeRecords that asks (it keeps a cache and makes the
// quick check: VerifiesSkips) the listing carries, with each regular file
// large enough to keep a record, that record's digest (Entry.Record) if
// the record is current for the very lstat the listing made (same
// identity: device, inode, size, mtime, ctime), so that a quick-check
// skip over the network is verified as a local one is (records.go); an
// older peer gets the listing as before, and every skip stays
// unverified. Every entry operation (mkdir, symlink, hard link, remove,
// metadata) is one request and one answer, which the server applies through an os.Root on the tree's directory (no
// symlink leaves it, no ".." or absolute name is accepted) under its
// read-only, allow-hardlinks and owner rules; a device node is made
// (TreeMknod) only by a server that allows devices (listen
// --allow-devices, as root), with mknodat through its directory opened
// beneath that root, and asked for only of a server that announces
// wire.CapTreeDevices (an older one fails the device alone, not the
// session). A hostile client costs the server one message at
// a time, whatever it sends.
//
// Files run over the session's worker streams, which the scheduler
// hands out as it hands out workers locally: a file takes as many streams
// as it takes workers (one for a small file, all of them for a large one,
// which the engine stripes across them), so small files run side by side
// on disjoint streams and a large one is as fast as a single-file push.
// The control stream carries only each file's request and answer. The
// streams are not closed after a file (the engine's CloseSend is held on
// both sides), so the next file reuses them without a handshake; they
// attach lazily, on first use. A failed file's engine aborts the streams
// it ran on, which cannot carry another file after that; a later file
// that takes them attaches fresh ones (wire.TreeAttach: a new session id,
// one handshake per stream), so a failure costs its own file and a
// re-attach, never the session. Per-file streams multiplexed inside each
// connection (yamux in TLS) would make a failure free, at the cost of a
// multiplexer on every byte; not built. The server runs each file with
// DeferSync and its records deferred (as a local tree), and the
// client's final TreeFlush syncs its file system once (syncfs), after
// which the server commits its records. Messages
// 0x30-0x3F and wire.CapTree are reserved for trees.
package tree
