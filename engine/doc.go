// Package engine owns the block math of pdiffagent: cutting a file into
// fixed blocks, two-tier comparison, and the parallel pipeline that brings a
// target up to date. It knows nothing of networks: it talks to the other
// side through Stream, which the agent implements over QUIC or TCP and
// Pipe implements in memory (for `sync` and for tests).
//
// The pipeline. The file is cut into blocks of Params.BlockSize; worker w
// owns the contiguous stripe Params.Stripe(w) and a stream of its own. On
// each stripe the sender reads a batch of blocks, computes their tier-1
// hash (XXH3-64 between peers with wire.CapXXH3, else xxhash64: weakOf in
// hash.go; 4-5 times cheaper, the same 8 bytes; pipe mode, one-way and
// without capabilities, keeps xxhash64, so its checksum uses only records
// made so), keeps the blocks in memory and sends the hashes (WeakBatch). The
// receiver, reading its own copy of the same stripe at the same time,
// answers each batch with a Verdict: a block its target lacks or whose
// xxhash differs is needed — certainly different, never strong-hashed; any
// other block is offered with its sha256 (tier 2; each side hashes the
// blocks of a batch, or a refined block's sub-blocks, together, four at a
// time in interleaved lanes where the CPU has the SHA extensions:
// engine/sha256mb, doc_cpu.go). The sender sends every
// needed block and every block whose sha256 disagrees (a weak collision,
// counted), and drops the rest as confirmed, so no collision can leave a
// wrong block; a worker's messages go out from a queue of its own
// (sendqueue.go), so that it decides on while a block is written out. A
// stripe ends with the sender's counts (StripeEnd), which
// the receiver checks against its own; the session ends on stream 0 with
// the sender's Final (after re-checking that the source's size and mtime
// did not move) and the receiver's FinalAck (after truncate and fsync).
// Both carry an end-to-end digest of the range (digest.go: an
// order-independent sum over blocks of the strong hash each kept block was
// confirmed by, or the xxhash of each sent block's data); each side checks
// the other's, and a difference fails the sync.
//
// Byte comparison (compare.go; Options.CompareLocal). A local sync holds
// both copies: where no block-hash record needs the hashes (no cache, or
// --no-cache) it does not run the protocol at all but compares the two
// copies' bytes, each worker its stripe, and writes what differs as the
// protocol would (holes for zeros, the differing sub-blocks of a block
// mostly kept, else the block), then commits the target the same way.
// Exact, and a memcmp instead of two hashes: a 1 GiB local sync with 10%
// of its blocks replaced took 0.19-0.22 s against 0.66-0.76 s through the
// in-memory streams (2 cores, warm, 2026-12-02).
//
// Sub-block refinement (refine.go, refine_send.go; wire.CapRefine). In a
// session whose peers both have CapRefine, the receiver follows every
// Verdict with a Refine: for a needed block it holds (it has just read and
// xxhashed it, or reads it then when its hashes came from the cache), the
// tier-1 and strong hash of each sub-block of Session.MinBlock bytes
// (--min-block; 4 KiB by default, refineSub, the smallest block; a partial
// last block ends in a shorter one; the receiver chooses, so a push carries
// it to the server in wire.Open.MinBlock), computed
// from the buffer it has. The sender, which still holds the block, confirms
// each sub-block whose two hashes both equal its own, exactly as a kept
// block is confirmed, and sends the others as SubData, one per run of
// consecutive changed sub-blocks (its offset in the block and its bytes, at
// most half a block), so that a mostly changed block costs a few messages
// and writes, not one per sub-block; a block none of whose sub-blocks
// matched goes whole, as Data, exactly as unrefined, and so does a hole of
// its source (a zero Data). Nothing waits: the Refine travels with the Verdict inside the
// existing window. The digest takes refined blocks per sub-block: the
// strong hash of each confirmed one, the xxhash of each one sent. The
// receiver settles a refined block once the stream has moved past it
// (a later block's Data or SubData, or StripeEnd): every sub-block it
// offered and did not receive was confirmed, and enters its digest with
// the strong hash it offered, so a sub-block the sender neither sent nor
// confirmed breaks the digest. A refined block counts as changed (sent).
// A peer without CapRefine gets whole blocks, as before.
//
// Refinement costs the receiver a strong hash of each block it refines and
// 40 bytes per sub-block on the wire (1% at 4 KiB), worth it only when
// little of the block changed. So the receiver counts refined blocks in a
// row, over all its workers, that sent more than half of their sub-blocks
// (a block sent whole counts so); after refineStreak (8) each worker
// refines only one needed block in refineProbe (64), and all refine again
// from the first such probe that sent less than half. A tree's files
// share the streak and the probe count (Options.Recv, engine.RecvShare),
// and a stripe of refineProbe blocks or more probes its first needed
// block. With 100% of the
// blocks changed about 8 blocks plus the workers' windows are refined (12
// and 17 of 64 1-MiB blocks at one and two workers in TestRefineWholeBlocks,
// 26-30 of 1024 over TCP) and each goes whole: bytes on the wire exceed an
// unrefined sync's by their sums alone. Sub-blocks are written through the
// page cache (sysio.File.WriteAtBuffered), not O_DIRECT as whole blocks
// are: one O_DIRECT write per 4 KiB sub-block had a fully changed 1 GiB
// push over TCP refine about 50 blocks in 12,800 sub-block writes, 1.1-1.6
// CPU-s more than without refinement (3.6-3.8 CPU-s of both processes);
// with runs, whole Data and buffered writes the two are alike (4.0-4.5
// against 4.5-4.6 on the same loaded machine, 2026-12-01).
//
// A dry run refines too: the sender counts the sub-blocks it would send.
// The block-hash cache records whole blocks only, never sub-block hashes:
// a recording receiver keeps a copy of each refined block it offers (the
// bytes it just hashed), patches it with the block's SubData as they
// arrive, and records the tier-1 and tier-2 hash of the patched copy once
// the block is settled, without reading it back; a worker holds at most
// refineHeld such copies (one batch), and a refined block beyond them is
// read back once written.
// Pipe mode does not refine: its flow is one-way, so its checksum stage
// would have to send sub-block hashes of every block, changed or not
// (about 1% of the data at 4 KiB, and a strong hash of every sub-block);
// its stages have no capabilities to agree on.
//
// Rolling search (rolling*.go; wire.CapRolling). Fixed offsets come first,
// then refinement, then a search for what is still unmatched, in rsync's
// direction: the sender rolls a weak sum over its unmatched data and looks it
// up among the receiver's block sums. With CapRolling on both sides (and not
// --no-rolling, a dry run, --whole-file, or blocks larger than rollMaxBlock, 4
// MiB) the receiver follows every Verdict (and Refine) with a RollSums: for
// each block of the batch it read, the anchor sum (rolling.go: a Rabin-Karp
// sum mod 2^64 over a random table, of the block's first rollWindow bytes,
// B/16 up to 1 KiB), its length and its tier-1 hash, which it computed anyway.
// The block-hash records hold no anchor sums, so a receiver whose record
// spares it the reads (the steady state of replication: its replica unchanged
// since the last sync) reads the blocks it needs, the ones it will rewrite,
// while the search keeps old bytes (recvRoll.active, below) or refinement
// wants them, and offers those; a block it keeps, known by its record, is not
// read and not offered, so data moved from a block that did not change is not
// found there. Without that read a replica kept with records lost the search
// (4 KiB inserted 1 MiB into 1 GiB sent 1.07 GB with a cache on both sides;
// now 3.8 MB, as --no-cache, for a read of the blocks it rewrites; 14 MB more
// read at 10% of whole blocks replaced, where the search turns itself off
// after rollStreak). A hole, a block whose anchor is all zeros (zero regions
// are never searched) and one shorter than the anchor are not offered; the old
// last block, shorter than the sender's, is read and offered. For a needed
// block that refinement does not serve (fewer than half of its sub-blocks
// match in place), the sender rolls the anchor over the block, looks each
// offset up in a prefilter (a count per top 16 bits of the sum, zsync's
// negative hash table) and, on a hit, checks at most rollCandidates sources by
// the tier-1 hash of the bytes that follow (the block and the next one are in
// hand). A match is a copy; the scan then jumps past it, and a copy running
// past the block's end is carried into the next block. What the search leaves
// as a literal is looked at again by the old blocks' sub-block sums (a
// Refine's, or WeakOnly, tier-1 hashes alone: wire.CapSubWeak) at the shifts
// around it (rolling_subs.go): an edit inside moved data costs about a
// sub-block, not the block it falls in. A block that ended in a literal keeps
// its last rollTailMax bytes for the next one's search: after a deletion an
// old block's anchor lies in the block before the one it serves, which the
// sender may have searched before the receiver offered that old block (it
// offers a batch with its verdict), so without the tail the block after every
// batch boundary went whole (a quarter of the file at 1 MiB blocks). A block
// with at least one copy goes as pieces covering it in order: CopyFrom (its
// offset, length, the source offset in the receiver's old file and the strong
// hash of the sender's bytes) and Literal (bytes not found). The copies'
// strong hashes are computed four at a time: from a batch's first copy on, the
// decider holds what it sends for the batch and sends it, in order, once the
// batch is decided (outbox.go; one at a time, single-lane SHA-NI was 40% of a
// client's samples after an insertion, and such a push took 1.58-1.61 s
// against 1.38-1.40 s now, the client's CPU 1.43-1.49 against 1.03-1.06 s).
// The receiver assembles the block in a buffer: a copy's bytes come from its
// kept old block (below), and are used only if their strong hash equals the
// sender's, so a weak match never places wrong data. The copies are checked
// once four blocks are complete (or the pieces end), all together
// (rolling_recv.go, verify): a block after a shift is mostly one long copy and
// a short one, and checked each alone with single-lane SHA-NI they were 37% of
// the server's samples in a push after a 4 KiB insertion; checked by block
// they were slower still (a long and a short message leave three of sha256mb's
// four lanes idle). Four interleaved pairs: 1.19-1.42 s -> 1.05-1.15 s, the
// server's CPU 1.36-1.68 -> 1.18-1.27 s. A complete block waits unwritten
// until then (its bytes are all in its buffer; a later copy from its old bytes
// finds them kept or in the target, where nothing has written yet). The
// checked block then goes to the writer as a received block: the digest (the
// xxhash of what is written against the sender's of its block), the record and
// journal (a move is recorded as a write) and the counts are those of Data. A
// copy that fails its strong hash makes the receiver refuse the block
// (Refused); the sender sends it again whole as Data (the one Data allowed out
// of order) and turns the search off for the stripe (a refusal is a collision,
// accidental or crafted). A stripe's pieces end with RollEnd both ways: the
// receiver's answers after every Refused, saying what it took (blocks_moved,
// bytes_reused in Stats). The receiver's reader queues its Refused (and then
// that RollEnd) for a goroutine that sends them: it never waits on the stream,
// since the sender, which reads only between batches, may be sending it the
// pieces of later blocks (sent by the reader itself, a refusal stalled both
// ends once the stream back was full).
//
// In place, safely. The receiver never reads a copy's source from the
// target after a write could have touched it: the hasher, which reads
// each block before any write to it (a block is written only after its
// Verdict), keeps a copy of every offered block it found needed (those
// will be overwritten); an offered block it found equal is read from the
// target at copy time, since nothing writes there (a weak collision there
// is rewritten, but then the strong hash refuses the copy). So moves in
// either direction, overlapping or crossing, never read a source after it
// was overwritten, and --atomic needs nothing else. The copies cost the
// receiver a copy of every needed block and up to 24 MiB per worker of
// held blocks, for nothing when whole blocks were replaced: so after
// rollStreak bytes of needed blocks in a row that came whole (Data, or
// SubData: a refined block served in place counts its whole length; it
// counted the sub-blocks sent, so a 1000-page push copied 0.64 GiB of old
// blocks, 0.15-0.2 CPU-s and 14-19 MiB of the server's RSS), as the
// sender stops searching every block, the hasher leaves
// needed blocks lazy (no copy: the target holds their old bytes until the
// reader queues their first write, and a copy from one before that reads
// the target); the reader drops a lazy block as it queues its write, and
// a later copy from it is refused (not counted as a collision; the sender
// stops searching that stripe). The next piece turns keeping on again,
// and a lazy block still unwritten is then read and kept just before its
// write. Measured on a fully replaced 1 GiB push over TCP (2 workers, 3
// interleaved pairs, load 6-8 on 2 cores): the server's CPU 2.04-2.20 s
// fell to 1.77-1.94, its peak RSS from 84 to 40-44 MiB (fresh memory
// costs about 2 ms of CPU per MiB here at first touch).
//
// Bounds. Sources are the blocks of the same stripe from rollBackBatches (2)
// batches behind the block the sender decides to the last the receiver hashed,
// one to rollAheadBatches (3) ahead: the decider takes the next batches'
// verdicts and sums before deciding one it searches in (lookAhead; of 1 GiB, 2
// MiB deleted sent 489 MB before it, 6 MiB now). The receiver, knowing the
// sender at most windowBatches batches behind its hasher, keeps
// windowBatches+1+rollBackBatches batches behind it: at most 7 batches of 4 MiB
// per worker and as many sender index entries. Data moved farther (a deletion
// of more than 3 batches), across a stripe boundary (a shift of n bytes loses
// about n bytes per boundary), and old data past the new file's end (never
// hashed) are sent. Work per searched byte is one roll and a prefilter look-up;
// a hit costs at most rollCandidates tier-1 checks, and a block at most
// rollFailBudget (2) failed checks before its search stops. After rollStreak (8
// MiB) of fruitless searches in a row a session searches one needed block after
// a gap of needed bytes that doubles from 1 MiB to 64 MiB, until one finds
// something: replaced data costs little search. The streak is the session's,
// shared by its stripes, but a stripe is hot (searches regardless) before its
// first search and after a find until rollHot of its own are fruitless
// (sendRoll.hot: else the stripes' timing decided what a deletion found). Each
// stripe had its own until 2026-12-02 (a fully replaced file was searched 8 MiB
// per worker, and the receiver kept as many old blocks: 30 MB of a fully
// replaced 1 GiB push's heap against 40; server peak RSS at 100% 60-81 MiB in
// 12 runs, 67-98 in 11 before); a tree's files share it too (Options.Search,
// rolling_share.go): each small file alone would be searched whole. The
// receiver's hasher copies at most rollKeepBytes of needed blocks per worker as
// it reads them; past that a source is lazy (rollKeepEager). Tests
// (rolling_sync_test.go) bound the work: the bytes the search rolls over plus
// every byte through the tier-1 hash (fixed-offset pass, writes, the search's
// checks) is at most twice that of the same sync without the search on one
// repeated block, on forced tier-1 collisions and on forced anchor collisions,
// and the search's own (bytes rolled plus bytes checked weighted 1/8: xxhash64
// measured 14 times faster than the roll) at most the file's size. Pipe mode
// does not search: its stream is one-way.
//
// Unasked batches (unasked.go): a stripe whose blocks keep being sent
// whole has its next batches announced and sent without asking.
//
// Parameters (params.go). A Session holds what both sides agree on once
// (block size, hash, workers, codec, flags), a File what belongs to one
// file (the source's size and the range); Session.Normalize fills defaults
// and checks once, Params.Bind applies the source's size once it is known,
// and Send and Receive take only bound Params.
//
// Pipe mode (pipemode.go) runs the same two tiers over a one-way byte pipe:
// checksum | retrieve | save, without the verdict round trip.
//
// Bounds. A sender worker holds at most windowBatches+1 batches of about
// batchBytes (and reads fewer ahead while its verdicts come back before it
// asks for them: sendpace.go); a receiver worker one block for hashing and the blocks in
// flight, of which at most queueBlocks (16 MiB of blocks, at least 2)
// wait for its writer goroutine while it writes a run (an O_DIRECT write
// returns only when the device has the data, and the stream is read on
// meanwhile). The writer writes consecutive whole blocks it finds queued
// together as one run of up to 4 MiB (writer.go: one pwritev, no copy);
// it never waits for a run to grow. Every 64 MiB written the receiver
// starts an fdatasync of the target in the background (flusher.go), so
// that the final fsync does not wait, both cores idle, for a disk's or a
// VM host's write cache to take the whole file (0.39-0.43 s of a 2 s
// fully replaced 1 GiB push here; 25 ms after early flushes). Hash lists are streamed batch by batch and never
// held whole, so memory does not grow with the file. The window is a function of the block
// size only, so both sides size it alike without negotiating, and the
// receiver's hand-off queue is deeper than the window: its reading
// goroutine never blocks on its hasher, which rules out a deadlock between
// the two directions of a stream.
//
// Errors. The first error cancels the session; the side that failed sends
// the peer a wire.Error (best effort, bounded in time) and aborts every
// stream, so no goroutine outlives Send or Receive. A peer's own report
// outranks the broken-stream errors that follow it.
//
// Reads. Both sides read their copy once, through the page cache (a warm
// re-sync is memory-bound; the receiver skips the blocks of a stripe that
// keep differing once refinement and the search have backed off, probing
// one in up to 16: skipread.go, so a fully replaced 1 GiB target is read
// about 128 MiB), with the read path of Options.ReadPath
// (readpath.go). The default preads each block into a pooled, aligned
// buffer after posix_fadvise SEQUENTIAL+WILLNEED for the stripe (sysio
// takes what the cache holds with a raw preadv2(RWF_NOWAIT) first, which
// cut the context switches of a 100-page sync by two thirds and its CPU
// by 7-13% with the change below; sysio/doc.go); ReadMmap
// hashes each batch in place through a read-only mapping (mapped.go, which
// says how a file truncated meanwhile is caught). The choice was measured
// on the 2-core AMD EPYC VM this was written on (Linux 6.18, ext4, warm
// cache, 2026-12-01, with 10-13 runnable threads of other work, so wall
// times are noisy and CPU times are the steadier figure):
//   - BenchmarkReadPath (xxhash64 of 1 MiB blocks, 4 MiB batches, 256 MiB
//     cached): 0.13 CPU-s/GB both ways; wall 2.4-5.1 GB/s pread against
//     3.2-5.9 mmap in one goroutine, 4.5-6.7 against 2.4-5.0 in four (as in
//     a sync, where both sides' workers map and unmap in one process);
//     O_DIRECT 0.7-1.4 GB/s at 0.25-0.31 CPU-s/GB (from the disk).
//   - `sync` of 1 GiB with 10% of the blocks changed, 8 interleaved pairs:
//     pread faster in 6, median 4.2 s against 4.7 s, at 2.54 against 2.35
//     CPU-s (the copy out of the cache costs about 0.2 CPU-s; the mapping's
//     faults cost less than that here). 100% changed: 1.63 against 1.61
//     CPU-s, wall within the noise.
//
// Tried and not kept (cf2f2b9 and f7397e0, removed after): eager hashing on
// the sender, which, while a worker's moving need rate was under 1/8,
// read each block into one reused (cache-hot) buffer, hashed both tiers at
// once, kept nothing and read again only the blocks that travel, instead
// of holding a window of 16 MiB of pooled buffers per worker (pread of 1
// GiB cached: 0.11-0.15 CPU-s into one reused buffer, 0.22-0.27 into 32
// cycling ones). Local sync of 1 GiB, load 7-11, interleaved pairs: 100
// pages 2.26-2.50 CPU-s eager against 2.05-2.54 kept (5 pairs, median
// 2.39 against 2.37); 10% of whole blocks replaced 2.34-2.58 against
// 2.17-2.53 (kept lower in all 5 pairs): the tier-2 hashes of the blocks
// then sent and their second read cost more than the hot buffer saves.
// Kept: the sender computes the sub-block tier-1 hashes of a refined
// block once, for both the search's choice and the sub-blocks (at 1000
// pages they were 0.22 of the client's 1.34 CPU-s, computed twice).
// Also measured on this VM, and left as it was: the read-only mapping
// (ReadMmap) for a push of 1 GiB at 100 pages cost the client 2.33-2.62
// CPU-s against 1.26-1.35 with pread (a fault per page is dear here;
// asking for the pages at once, MADV_POPULATE_READ after each mapping,
// changed nothing: 2026-12-02, 1.00-1.03 CPU-s per end against 0.60-0.64);
// sha256's one-shot Sum256 instead of Reset, Write and Sum made no
// difference (BenchmarkStrong); BLAKE3 is measured in doc_cpu.go
// ("BLAKE3 against sha256 here").
//
// Earlier the same day another VM of this kind measured hashing 2 GiB at
// 0.75 s with pread and 1.56 s mapped (a fault per 4 KiB page), and before
// that a third measured the mapping a fifth faster: the difference depends
// on the machine, so pread, never worse by much and never faulting, is the
// default, and `--read-path mmap` is there for machines where it wins.
// Options.Direct = sysio.DirectOn (`--direct-read`) reads with O_DIRECT,
// for cold replicas larger than memory: the cache is neither read nor
// filled, and where the filesystem refuses O_DIRECT sysio reads buffered
// and drops what it read (DONTNEED). Block writes go through sysio, which
// uses O_DIRECT for aligned blocks where the filesystem allows it.
//
// The block-hash cache (cached.go, engine/cache). With Options.Cache a
// side looks its file up before hashing: when the file's identity equals
// its record's (engine/cache/doc.go has the trust rule), the hashing
// passes take each block's weak and strong hashes from the record instead
// of reading it (knownHashes is the one hook; a block the record cannot
// give, e.g. a corrupt chunk, is read as before). The receiver then reads
// only the needed blocks it refines (refinement hashes their old bytes),
// and the sender only the blocks it sends; the two-tier exchange,
// the sender's strong-hash confirmation of every kept block and the
// digest are unchanged. A sender that used a record re-checks its source's
// identity at the end (ErrSourceChanged if it moved). Before its first
// write the receiver durably invalidates the target's record; after the
// verified sync and the target's fsync, just before FinalAck, each side
// commits a fresh record. A receiver invalidates the record and starts
// its journal at its first write (fileCache.beforeWrite), not before: a
// session that writes nothing to a target whose record it used, and sets
// no mode or mtime (commit sets them only when they differ), leaves that
// record in place and skips the fsync, the racy-window wait and the new
// record (measured: server CPU of an unchanged 1 GiB push 0.04-0.06 s,
// was 0.07-0.09; five fsyncs fewer). Session.NoCache (--no-cache) trusts
// no record and keeps none (a record costs a tier-2 hash of every block
// written or sent); its first write still removes the record it makes
// stale. An atomic replacement (ReceiveTarget) starts as a
// copy of the file it replaces, so the receiver uses that file's record
// (Lookup after the copy: a file whose identity still matches was not
// written before or during it) and renames the replacement before it
// records it, so that the record holds the final file's identity (a
// rename moves ctime); then two atomic syncs of an unchanged file read
// nothing, though each still copies the file (a reflink where the
// filesystem has them).
//
// Records are complete. Each side records every block of its file with
// both hashes: a block it confirmed with the hashes it compared; a block
// it sent (sender) or wrote (receiver's writer, from the received buffer)
// with a tier-2 hash computed then, while the block is in memory; a zero
// block with its free constant hashes. The receiver records an offered
// block only once the stream has moved past it without its Data
// (cached_offered.go): a Data for it means a weak collision, and the
// writer records what it wrote instead, once. So the run after any sync
// reads nothing on a side whose file is unchanged, and a resumed sync
// reads only what its journal does not log. The cost is one tier-2 hash
// of each block sent, on each side, which a sync without a cache does not
// pay: for a fully changed 1 GiB push, 0.46 CPU-s of sha256 on the
// sender (four blocks at a time with the batch's offered ones,
// sender.strongs; 0.84 one at a time) and 0.49 on the receiver's writer
// (perf, 2026-12-02). BLAKE3 (-m blake3) hashes at 2.3 times that rate
// here, in sixteen AVX-512 lanes (engine/blake3mb; README, "Strong hashes").
// Commit d1213a2 tried the other trade, recording sent and written
// blocks by tier 1 only (cache.NoStrong) and hashing them when a later
// session needed tier 2: a fully changed 1 GiB local sync then cost
// 1.7-2.0 CPU-s instead of 3.5-4.2, but the receiver of a 10%-changed
// push, the steady state of replication, re-read about 90% of its
// replica (every block the first sync wrote), a resumed sync re-read the
// blocks its journal logged, and an unchanged rerun read what the last
// sync sent on both sides (measured with a lazy sender at load 17: the
// unchanged push after a 10%-changed 1 GiB push read 107 MB on the sender
// and took 0.68 s, against 0.45 s with nothing to read). The
// receiver must record eagerly for the read targets; the sender
// does too, because the promise that a sync with both sides unchanged
// reads neither file holds only if the sender's record is complete, and
// a source that changes before every run (where lazy would save the
// hash) has a stale record anyway: the sender then hashes every kept
// block to confirm it, and the blocks it sends add at most that much.
// Records without some tier-2 hashes (cache.NoStrong, made by builds
// between d1213a2 and this) are still read safely: such a block is needed
// unread when its tier-1 hash differs and read and hashed when tier 2 is
// needed (the receiver's hashBatch, the sender's decide, pipe mode's
// checksum), and a side whose Hit record is Lazy records its file again;
// scrub compares such blocks by tier 1 only (ScrubResult.WeakOnly).
//
// Equal by records (equal.go). A record with every tier-2 hash carries a
// digest of its whole hash list (engine/cache, digest.go): size, block
// size, method and every block's two hashes. Before a push, a server whose
// target record is a trusted hit offers that digest to a client with
// wire.CapRecordDigest (wire.OpenReply.RecordDigest; RecordDigest); a
// sender whose own record is a hit with the same digest hashes and reads
// nothing: each stripe ends at once, every block confirmed (the search's
// RollEnd, then StripeEnd), and Final carries the record digest in place
// of the session digest. The receiver accepts such stripes only with a
// record digest of its own, and the session only if every stripe ended so,
// Final's digest is its record's and the target's identity has not moved;
// it then commits (truncate, fsync, mode and times) as after any sync, and
// both sides report cache hit. Equal digests mean the two copies have the
// same size and the same tier-2 hash at every block, the ground any
// verified sync rests on. No shortcut for --no-cache, a dry run, a ranged
// or --whole-file sync, an atomic push (its target is a copy) or a pull
// (its receiver, the client, speaks first only in Open, sent before the
// server's Hello says what it reads). An unchanged push then costs the
// handshake and a few frames per stream, whatever the size (it was one
// WeakBatch and Verdict per batch of blocks, read from the records).
//
// Resume. The receiver journals every block it wrote or offered, with its
// hashes, and checkpoints every checkpointEvery (fsync of the target, then
// of the journal). A session that fails while the receiver is alive seals
// the journal with the target's identity once its writers have stopped,
// unless a write failed. A rerun uses a journal only when it is sealed and
// the target's identity still equals the sealed one: then nothing has
// written the target since, every logged block is on stable storage as
// logged (its write returned before the checkpoint whose target fsync
// covers it), and its hashes are as good as a record's. An unsealed
// journal (the receiver was killed or lost power) is not used and the
// target is read whole: after such a crash the receiver's own unlogged
// last writes have moved ctime, so a write by anyone else since cannot be
// told from them. Each side's bytes read and cache use travel to the other
// in a wire.Report before Final and FinalAck, for both sides' Stats.
//
// # Rates
//
// A Rate (throttle.go, golang.org/x/time/rate) paces bytes: ThrottleStream
// counts every message a stream carries, both ways, against one Rate that
// all workers share (--bwlimit; the agent wraps its network streams, a
// local sync its sender's pipes, so each byte counts once), and
// Options.ReadLimit paces the hashing passes through the tier-1 hash, which
// every block read passes once (--io-limit). The bucket holds one block at
// most, so nothing passes in a larger burst, and a late waiter is credited.
//
// Where the CPU of a page push and of a fully replaced push goes, measured
// with pprof and perf of both ends, is in doc_cpu.go.
package engine
