// Package cache remembers what pdiffagent has verified, so that an
// unchanged copy is not read again and an interrupted sync resumes. It
// knows nothing of networks or of the pipeline: it stores and checks
// records and journals; the engine decides when to use them.
//
// # Records
//
// A record holds, for one file, the tier-1 (xxhash64 or XXH3-64, as its
// method says: MethodXXH3) and tier-2 hashes of every block for one block
// size and method (the tier-2 hash may be
// unknown: see "Lazy tier 2" below), and the file's identity
// when the record was made (sysio.Identity: device, inode, size, mtime and
// ctime in nanoseconds, filesystem type). A record is trusted only when
// every identity field equals the file's current one. ctime is the field
// that matters: the kernel sets it on every write and metadata change and
// no program can set it back, so a write behind pdiffagent's back that
// then restores mtime (dd conv=notrunc; touch -r) still shows.
//
// Records are kept only for files on local filesystems whose ctime and
// inode numbers can be trusted: ext4, XFS, Btrfs, ZFS and tmpfs (statfs
// f_type; sysio.TrustedFS). NFS, FUSE, overlayfs and anything unknown are
// Off. A block device's ctime does not move when the device is written, so
// devices are cached only with Options.TrustDevice (the operator's word
// that nothing but pdiffagent writes the device); a device record also
// holds a fingerprint of eight sampled 4 KiB blocks (first, last and six
// between), checked before use, so that a volume deleted and recreated
// under the same device number is not trusted.
//
// A record is keyed by the file's device and inode number (a block
// device's by its device number), not by its path. The trust check
// compares every identity field anyway, so a path adds no safety, and
// leaving it out keeps one record per inode: a session writing a file
// through one name invalidates the only record that inode has, which
// matters for devices, whose trust rests on invalidation alone. An inode
// number reused for a new file is caught by ctime (and usually size and
// mtime). A record made for another block size or method is a Miss and
// is replaced by the next record of that file.
//
// Format (format.go): a 128-byte header with its own crc32c, then
// fixed-size chunks of 1024 entries, each with its block index, count and
// a crc32c seeded with the record's random nonce. A chunk's place is
// arithmetic, so a reader verifies and yields just the chunks of a block
// range (Record.Range, Record.Read) and a writer takes blocks in any order
// from several workers (Writer.Put), holding only partly filled chunks
// (at most 256, about 10 MiB). Neither ever holds a whole record: a 2 TB
// file at 4 KiB blocks has a 20 GB record, streamed both ways. A torn or
// corrupt header makes Lookup ignore (and remove) the record; a bad chunk
// stops the walk with ErrCorrupt, and the caller reads the file for the
// blocks it did not get. Using the chunks before a bad one is safe: each
// was verified on its own, and a record is only ever made visible whole.
//
// A record with every tier-2 hash (not Lazy) ends with a trailer: the
// record digest (digest.go), over size, block size, method and every
// entry, summed per chunk as the Writer completes chunks (in any order),
// with a crc32c seeded by the nonce. Record.Digest gives it; a record
// without a valid trailer (older, or torn there) is used as before, only
// without the digest. Two sides whose records have the same digest hold
// equal copies (engine, "Equal by records").
//
// Crash rules. A record is made only after the sync is verified and the
// target synced: it is written to a temporary file in the cache directory,
// the identity is taken (see below), the header written, the data made
// durable, then renamed into place and the directory synced (Group). A
// session durably invalidates a file's record (unlink, directory fsync)
// before it writes the file's first block (Store.Invalidate), so no crash
// can leave a record that claims the old content. A group commit (many
// records, a tree) takes every identity, writes every header, makes them
// all durable with one syncfs (from groupSyncFS records; below that, or
// where there is no syncfs, one fsync per record), renames them and syncs
// the directory once. A tree, whose files are written without an fsync
// each and made durable together at its end, hands its records to a Deferred (deferred.go), which commits them
// as a group only once the caller has made the files durable (or, every
// MaxDeferred records, after a syncfs of its own): no record is ever
// visible before the data it trusts is. Invalidate syncs the directory
// only when it removed a record: every other removal is durable before it
// returns (Lookup syncs after removing a stale record, eviction after
// removing any), so a crash cannot bring back a stale record whose
// identity the file takes again while its content is neither the
// record's nor what was written (store.go).
//
// The racy window. File timestamps come from the coarse clock and move
// once per kernel tick (clock_getres(CLOCK_REALTIME_COARSE): 1-10 ms), or
// once per second on filesystems that store seconds. A write in the same
// tick as the last change leaves ctime as it was: git calls such an index
// entry racily clean. So the side that makes a record waits, after the
// last write and before taking the identity, until the coarse clock is one
// granule past the file's ctime, then takes the identity again and repeats
// if it moved (settle). Every later write then gets a later ctime and is
// seen; and since the wait happens before the record is committed, a run
// right after a sync finds a valid record. Writes concurrent with the sync
// itself are outside what any identity can catch (as without the cache).
// A ctime more than 3 s ahead of the clock (the clock was set back) makes
// no record.
//
// A side that only reads a file (a sender, pipe mode's checksum) takes
// its identity, racy window waited out, before its first read and commits
// the record only if the file still has exactly that identity at the end
// (Writer.Expect): a write made while it read cannot leave a record of
// what was read before. Inspect opens a record whatever the file's
// identity, for scrubbing (engine.Scrub, `pdiffagent verify`): its hashes
// are compared with a fresh read, never used in place of one.
//
// Lazy tier 2. An Entry whose Strong is all zero bytes (NoStrong;
// Entry.HasStrong) holds the tier-1 hash only: the tier-2 hash is
// unknown. The engine no longer makes such entries (engine/doc.go,
// "Records are complete"), but records made by builds that recorded sent
// and written blocks that way may hold them: a session that needs a
// tier-2 hash for such a block reads the block and hashes it, as it
// would without a cache, and records it. A real tier-2
// digest of all zeros is not met in practice (2^-256), and a record is
// local and checksummed, so the marker is unambiguous. A record with any
// such entry has Header.Lazy set (header byte 31), so that a side that
// only reads its file (a sender on a hit) knows to record it again once
// it has hashed those blocks. Journals hold such entries too.
//
// # Path index
//
// A scrubber that walks the records of the files a server serves (listen
// --verify-interval) must know where each record's file is, which its key
// does not say. The path index (paths.go) holds, in a small file "p-KEY"
// beside the record "KEY", the absolute path the server named the file by
// (its root joined with the client's path) when a session last ended with
// a record for it (Store.NotePath). It is a hint, never trusted: the
// scrubber opens the path through the server's jail, checks that it names
// the device and inode of the key (PathEntry.Names), and forgets the entry
// when the file is gone, replaced or out of reach (ForgetPath); the record
// itself stays for LRU eviction, as its file may live on under another
// name. An entry is written without a sync (losing it only leaves the file
// out of scrubs until its next session), has a crc32c (a torn one is
// removed when read) and is removed with its record by eviction. Store.Paths
// reads the directory a batch of names at a time: memory does not grow
// with the number of records.
//
// # Resume
//
// During a sync the receiver keeps a journal (journal.go) of the target's
// blocks that are done, written or confirmed equal, with their hashes.
// Entries are added after a block's write returned; every few seconds a
// checkpoint syncs the target first and then appends a checkpoint frame
// and syncs the journal, with additions held off meanwhile. Replay reads
// frames in order and stops at the first torn or corrupt one; entries
// count only when a checkpoint follows them. So every trusted entry names
// a block whose data reached stable storage before the checkpoint that
// follows it was written.
//
// That alone would not let a rerun trust a block: after the interruption
// anything may have written the target, and the interrupted session's own
// writes after its last checkpoint have already moved ctime, so ctime
// cannot tell them from writes by someone else. What a journal lets a
// rerun trust is therefore this, and only this: when the interrupted
// receiver ended its session itself (lost link, sender killed, Ctrl-C,
// full disk, any error), it stopped writing, synced the target, waited out
// the racy window and appended a sealed checkpoint holding the target's
// identity (Journal.Seal). If the target's identity at the rerun equals
// the sealed one, nothing has written it since the seal, every logged
// block is durable and as logged, and the rerun uses the logged hashes for
// those blocks exactly as it would use a record's (the sender still
// confirms each with its own tier-2 hash; blocks not logged are read; a
// logged block, written, has no tier-2 hash in the journal, so a rerun
// reads it to offer one, but does not receive it again). A
// journal that is unsealed (the receiver itself was killed or lost power),
// has frames after its seal, or whose sealed identity does not match is
// ignored, and the rerun reads the whole target: it cannot be made safe,
// because a write by someone else after the crash cannot be told from the
// receiver's own last writes. OpenJournal applies the rule; the journal is
// removed when its sync completes.
//
// # Directory
//
// DefaultDir is the "cache" directory inside the agent's identity
// directory, mode 0700 (Open makes an existing one private); --cache-dir
// moves it, and the caller refuses a directory inside a served root. It is
// bounded (Options.MaxBytes, DefaultMaxBytes 4 GiB) by evicting the least
// recently used records after each commit: Lookup touches a record's
// mtime on every hit, which is the access time eviction sorts by (losing a
// touch in a crash only makes eviction a little less fair). Temporary
// files older than an hour, left by a crashed process, and journals a week
// old, of syncs never rerun, are removed then too.
package cache
