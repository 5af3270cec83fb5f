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
// skipped, not verified; ChecksumAll turns it off), and any other goes to
// the scheduler as a job. Extended attributes and ACLs are not synced.
//
// Workers (sched.go). The tree has Session.Workers workers. A file takes
// one per minStripeBlocks of its blocks, at least one, at most all: a file
// of a few blocks runs on one, side by side with others, so many small
// files keep every worker busy, while a large one is striped across all of
// them by the engine exactly as a single-file sync (its Params.Workers).
// The walker waits for a file's workers before it goes on, which bounds
// the files in flight, and with them the memory: the listings of the
// directories on the walker's path, the files in flight, the directories
// that hold them (dirs.go) and, with HardLinks, one record per
// multiply-linked file. A million-file tree never holds a million
// entries, though one directory of a million names is listed whole (as
// rsync does).
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
// Trees do not use the block-hash cache yet (Options.Engine.Cache is
// ignored): its records trust a target made durable before they are, which
// DeferSync postpones to the tree's end.
//
// Not built yet: push and pull of trees. The intended shape, so that the
// walker above is reused whole: the client always drives. A session with
// wire.CapTree opens on a directory beneath the server's root; the client
// asks the server for one directory's listing at a time (a request, then
// sorted entries in bounded batches, then an end: the server holds one
// batch, never a tree) and merges it with its own listing as walk.go does,
// so the walker's target (push) or source (pull) becomes an interface with
// a local and a remote implementation. For a push the server applies each
// entry operation (mkdir, symlink, hard link, remove, metadata) the client
// sends, one message each, through os.Root on its jail's root (no
// symlink leaves it, no ".." or absolute name is accepted: cleanRelPath),
// under its read-only, allow-hardlinks, allow-devices and owner rules; a
// hostile client then costs the server one message at a time, whatever it
// sends. Files: the engine aborts every stream of a failed file (a source
// changed meanwhile, a permission error),
// so a stream cannot simply carry one file after another and survive one
// that fails. Each file therefore runs on streams of its own, opened on the
// session's existing connections without a handshake: QUIC streams and
// the tunnel's yamux streams are that already; TCP needs a multiplexer
// (yamux) inside each TLS connection. A file's streams start with a header
// naming the session and the file (path, part i of k, size, mode, times);
// the server opens it through its opener (jail, locks, memory budget) and
// runs the engine on its k streams exactly as for a single-file session,
// and a failed file costs only its own streams. Messages 0x30-0x3F and
// wire.CapTree are reserved for this.
package tree
