package engine

// This file holds no code: it is the part of the package documentation
// (doc.go) that records where a sync's CPU goes, measured.
//
// # Where the page workload spends its CPU
//
// Issue 14's database case: a 1 GiB file with 100 or 1000 random 8 KiB
// pages rewritten, pushed over TCP with --no-cache. On a quiet machine
// (make bench on 4eae7ca+) the 100-page push took 1.00 s on 2.0 CPU-s of
// both ends, the 1000-page push 1.29 s on 2.5: both cores busy from end
// to end, so the time to cut is CPU, not idle time on a critical path.
// Measured with perf (cpu-clock and page-faults) and pprof of both ends,
// 2026-12-01, load 5-11 on 2 cores (shares of each end's CPU):
//   - tier-2 hashes 55-61%: both copies whole (at 1000 pages the refined
//     blocks' sub-blocks too), the floor of a verified sync: 2 GiB of
//     sha256 at 1.69 GB/s is 1.27 CPU-s;
//   - pread, the copy out of the page cache, 5-7%, and its faults and
//     interrupts another 6-8%; xxhash64 5-9%;
//   - first touch of fresh memory 4-12% (clear_page of huge pages, faults):
//     about 2-3 ms of CPU per MiB on this VM. The client's peak RSS is
//     57-60 MiB, 40 of them the sender's window (2 workers, 5 batches of
//     4 MiB each: pending's 3, the one being read, the one decided);
//   - the start (dial, TLS, Open, the second worker's connection and
//     Attach) 10-33 ms, the first WeakBatch 5-100 ms after it: not where
//     the time goes. BLAKE3 has the same shape with a hash of a third of
//     the cost, so the rest (reads, tier 1, memory) is half of its CPU.
//
// 1000 pages cost 0.4-0.5 CPU-s more than 100 (640 refined blocks of
// 1024). Found and fixed: the receiver copied every needed block for the
// search, as a refined block counted only its SubData bytes towards
// rollStreak (e444a10: server 1.46-1.56 -> 1.30-1.32 CPU-s, RSS 80-85 ->
// 66 MiB); every tier-2 sum was a heap allocation, 256 per refined block,
// and that garbage was most of both ends' page faults (the one-shot hash,
// hash.go: both ends 2.90-3.10 -> 2.74-2.87 CPU-s); a SubData of 8 KiB
// held a 1 MiB buffer in the writer's queue (bufClass: server RSS 57-75
// -> 47-51 MiB); the final fsync of 2,000 scattered dirty pages, 32-66 ms
// at the end of the sync, now 8-19 ms (wroteBuffered in refine.go). Left:
// refined blocks are tier-1 hashed twice on each side (the block, then
// its sub-blocks: 640 MiB, about 35 ms); the Refine's 6.5 MB (encoded,
// encrypted, decoded into about 10 KiB of garbage per block on each
// side); the digest's sha256 per sub-block (164,000 per side, about 30
// ms; changing the digest needs a capability bit); and the sender's
// window: with pending's capacity 1 the client's RSS fell from 57 to 41
// MiB, its CPU within the noise at load 10, and a window that small would
// halve what a worker keeps in flight on a long link (not changed).
// Until 2026-12-01 `push --no-cache` with the default cache directories
// still recorded (see "Records are complete"), which at 1000 pages cost
// each side a tier-2 hash of every refined block (the sender's block,
// the receiver's patched copy): both ends 2.77 -> 3.73-3.95 CPU-s and
// 2.6-3.0 -> 4.6-4.7 s wall (2 interleaved pairs at load 5-6, fresh
// cache directories). --no-cache now keeps no record, as bench's tcp
// tool (no cache directory at all) always did.
//
// # Everything changed: where a fully replaced push spends its CPU
//
// Issue 14 asks a push of a 1 GiB file whose blocks were all replaced to
// reach 70% of the throughput of plain TLS 1.3 over two connections
// (bench's "tls x2" floor) on the same 2-core machine. The floor is pure
// encrypt, copy and socket I/O: about 1.5 CPU-s per GiB on a quiet
// machine (0.76 s for 1 GiB, both cores busy), 2.1-2.5 at load 8-10.
// Profiles of both ends (perf, 2026-12-01, load 8-10, 2 workers,
// --no-cache; numbers as shares of each process's CPU, 1.7-2.0 CPU-s client,
// 2.0-2.2 server) after 96b8ffc:
//   - client: TLS encrypt 18%, copy into TLS records 19%, socket writes
//     18% (together the floor's sender), pread of the source 11% (into
//     the window's many buffers: three times the server's cost per byte,
//     which reads into one hot buffer), Go's sysmon 8% (also the floor's),
//     the rolling search 7% (its first rollStreak of each stripe and one
//     probe per 64 MiB: about 32 blocks of 1024, scanned and copied into
//     its span), xxhash64 5%, first-touch page faults 4%.
//   - server: socket reads 20%, TLS decrypt 16%, copy out of TLS records
//     11% (the floor's receiver), sysmon 12%, O_DIRECT writes 6%, xxhash64
//     9% (the target's blocks as hashed, and each received block for the
//     digest), pread of the target 4%, page faults 5% (at first touch of
//     60-68 MiB: about 2 ms of CPU per fresh MiB here), refinement's
//     sha256 of the ~30 blocks refined before its back-off 1.5%.
//
// So the sync costs the floor plus about 0.7 CPU-s per GiB on each side
// (1.6-1.7 times the floor's CPU at the same load), nearly all of it the
// reads, hashes and writes of the two files, which the floor does not do:
// at 2.2-2.4 CPU-s a GiB on two shared cores the best wall time is about
// 1.1-1.2 s, 62-70% of the floor, and only if both cores stay busy. They
// do not quite: a local sync of the same change takes 1.15 s on 1.1 CPU-s
// (one core of two), bounded by the O_DIRECT writes of 1 MiB (dd measured
// 0.4-0.75 GB/s for 1-4 MiB direct writes here while other work ran).
// The writes are the first suspect for the wall time: with each worker's
// writer timed (push over TCP, load 9-15), its 1 MiB O_DIRECT writes
// took 3.5-5.4 s in all (about 4 ms each: 250 MB/s per writer while other
// work used the disk) and the readers waited 1.6-3.4 s on full write
// queues in syncs of 4.6-5.7 s; in a local sync they waited 4.3 s of
// 3.4-3.7. Buffered writes into the cached target (the hasher has just
// read each block) halved the writers' time and the waits (0.7-0.8 s) but
// left 0.5-0.8 s for the final fsync; with sync_file_range(WRITE) after
// each block the fsync took 0.05-0.2 s and the writes 1.8-2.6 s. The wall
// times of those runs (4.3-7.5 s) were load noise. The writes: since
// 7475fbd the writer writes runs of up to 4 MiB (writer.go). Against
// 1 MiB writes, 3 interleaved bench runs each (1 GiB, --pattern blocks
// 100%, warm; quiet machine, load 3, "other load 0.00"): local sync
// 1.09/0.92/0.90 -> 0.89/0.90/0.89 s, push over TCP 1.94/2.04/2.02 ->
// 2.19/1.83/1.79 s (CPU of both ends 2.8-3.0 -> 2.8-3.3 s/GB), TLS x2
// floor 0.73-0.96 s: 38-53% of it either way. So on a quiet machine the
// writes do not bound the push (its CPU does: about 3 CPU-s against the
// floor's 2 cores x 0.8 s); under load (8-13) the runs were no worse.
// Buffered writes with sync_file_range(WRITE) after each run, against
// O_DIRECT runs, the same binary, 4 interleaved pairs at load 3: local
// 1.20/0.94/0.94/0.96 s at 1.07-1.14 CPU-s against 1.32/0.93/0.84/0.80 s
// at 0.63-1.15 (the copy into the page cache costs about 0.3 CPU-s a
// GiB), push over TCP 2.11/2.10/1.98/2.00 s at 3.2-3.9 CPU-s against
// 2.98/2.14/2.18/1.61 s at 2.9-3.6; final fsync 1-43 ms in both. Buffered
// is not faster and costs more CPU, so block writes stay O_DIRECT.
// What was cut: the receiver's copy of every needed block for the search
// and its 24 MiB per worker of held copies (96b8ffc: server 2.04-2.20 ->
// 1.77-1.94 CPU-s, peak RSS 84 -> 40-68 MiB). What is left, by size: the
// source's pread into cold buffers (reading into one hot buffer and
// holding nothing is wt-compare's eager mode, for low need rates) and
// the search's first 8 MiB per stripe. The back-off of the search's
// probes doubles its gap during the first rollStreak too (rolling_send.go),
// so the first probe comes 64 MiB after it, not 1 MiB as written above.
//
// Measured again 2026-12-01 (pprof of both ends, load 4-11; 1 GiB, 1 MiB
// blocks replaced, 2 workers, --no-cache). 100%: client 1.4-1.6 CPU-s,
// server 1.7-2.2 (rusage, process start included: ~0.06 each). Client:
// TLS writes 57-60% (encrypt, copy into records, socket writes: the
// floor's sender), the source's pread 18% (0.21 s/GB into the window's
// buffers; the server's into one hot buffer 0.08-0.11), the search 13%
// (scan 0.09 s, span copies 0.04), xxhash64 5-9%. Server: TLS reads
// 58-64% (socket reads 0.47 s, decrypt 0.32, copy out 0.21: the floor's
// receiver), the target's pread and xxhash64 21-27%, the writer 10%
// (xxhash64 of what arrives for the digest 0.09 s, O_DIRECT writes
// 0.1), the hasher's copies of 40 needed blocks for the search 0.1 s
// (copies into fresh memory), refinement before its back-off 0.09.
// Beyond the floor: 0.4-0.5 CPU-s client, 0.7-0.9 server, as before; the
// arithmetic above stands (70% of the floor needs both ends near 2.3
// CPU-s a GiB, they take 3.0-3.3). Making the hasher's copies lazy (the
// reader read the old block just before its write) cut the server's peak
// RSS from 67 to 45 MiB but read every needed block twice while the
// search is active (TargetRead, and twice the disk for --direct-read):
// not kept. 10%: sha256 is 52% of both processes' CPU, pread 19%, TLS of
// the 102 MiB 9%, xxhash64 6%, a second runtime's sysmon and scheduler
// 4-5%: the push costs the local sync's CPU plus about 0.3-0.5 CPU-s,
// which is the quiet machine's 0.22 s on two cores. The session's set-up
// is 16-17 ms (control stream's dial and TLS 10 ms, Open to OpenReply
// 1.6, second worker's stream 4.7, the server's collect 2.7), its end
// 1.5 ms; each process's start, not in the wall time, 0.05-0.07 CPU-s.
// The deciders of a 10% push waited 0.49 s in Send of their 102 Data
// (load 8; a local sync's Pipe 0.2 ms): sendqueue.go. With it they wait
// 14-43 ms to queue (load 2.6).
//
// Idle cores, 2026-12-02 (quiet machine, /proc/stat around the push):
// the fully replaced push left 0.5-1.4 core-s of its ~2 s idle, against
// 0.2-0.3 with the target on tmpfs, so the disk held it up, not the CPU.
// Two causes, both fixed: the final fsync took 0.39-0.43 s (strace), the
// O_DIRECT data still in the VM host's write cache (1.1 s after 1 GiB
// written by dd at full speed), now flushed early every 64 MiB
// (flusher.go; final fsync 25 ms); and a writer queue of one run let a
// slower device write stall the stream and the sender behind it (16 MiB
// now, writer.go). 6 interleaved runs: median 2.00 -> 1.79 -> 1.65 s,
// idle 0.30-0.50 core-s; 4 more pairs of the final build against the one
// before: 1.64-2.15 s (median 1.71) against 1.96-2.46 (2.19), the 10%
// push unchanged (1.21 s against 1.22). The receiver no longer reads a
// fully replaced target (skipread.go: 128 MiB of 1 GiB read); its CPU
// stayed within the noise (1.5-1.7 CPU-s), so what the push costs beyond
// the TLS floor is the sender's reads and search and each side's runtime,
// as above.
//
// System calls, 2026-12-02: crypto/tls writes each record of at most 16
// KiB with a write of its own and reads a record or two at a time, so a
// fully replaced GiB cost each end about 65,000 system calls, and on this
// VM (a paravirtualized one) their entry and exit showed as a quarter of
// the kernel's samples (pvm_irq_enable). The agent now gathers a
// message's records into writes of up to 64 KiB and reads through a
// 64 KiB buffer (agent/batchconn.go): 3 interleaved pairs at 100%, both
// ends 2.9-3.6 -> 2.6-2.8 CPU-s, 1.65-1.99 -> 1.56-1.69 s, with more of
// the cores idle (0.35-0.43 -> 0.46-0.59 core-s); 10% 0.83-0.91 -> 0.79-
// 0.83 s; the pages rounds within the noise. The bench's TLS floor is
// plain crypto/tls, one write per record, as before.
//
// # Tier 2 in four lanes (2026-12-02)
//
// Every profile above had sha256 as the largest piece of a sync that
// keeps most blocks. Go's crypto/sha256 uses the SHA extensions, and on
// this CPU (AMD EPYC, Zen 5, a "Turin-like" VM) it ran at 1.60-1.72 GB/s
// per core: a loop of dependent SHA256RNDS2 took 1.22-1.27 ns each, four
// or six independent chains 0.61-0.63 ns each, so one message keeps the
// unit half busy. engine/sha256mb hashes four messages at once, their
// rounds interleaved (Go assembly generated by its gen.go; the states in
// registers, each lane's newest schedule words too, the rest of the
// schedules on a 16-byte aligned stack area): 3.02-3.16 GB/s per core on
// 4 KiB and 1 MiB messages (BenchmarkStrong/sha256/sums), each result
// exactly crypto/sha256's (TestSum256, FuzzSum256). A first version that
// kept all the schedules on the stack ran at 2.8-2.9; two lanes should
// already reach the unit's throughput, four leave it slack. (A C version
// compiled by gcc first seemed to reach 6.6 GB/s: gcc had inlined it
// into the benchmark's loop and dropped work; called through a
// non-inlined function it ran at 2.94, the same as ours.)
//
// The engine gathers what it can hash together: the sender, the offered
// blocks of a batch (send_decide.go, strongs) and a refined block's
// matching sub-blocks; the receiver, the blocks of a batch that look the
// same, read into up to hashLanes buffers and hashed when the buffers are
// full or the batch is done (receive_hash.go), and a refined block's
// sub-blocks; the writer, the records of a run and of refined blocks
// (refine.go, putRefined). Interleaved pairs, the build before against the
// build with lanes (push over TCP, 1 GiB, --no-cache, quiet machine):
// 100 pages 1.07-1.10 s on 2.1 CPU-s against 0.81-0.88 s on 1.6; 10% of
// blocks replaced 1.12-1.23 s against 0.90-1.00 s; a fully replaced file
// unchanged (no tier 2). At 1000 pages the gain first vanished in the
// noise (1.06-1.33 against 1.15-1.34 s) and the client's peak RSS rose
// from 66 to 76-84 MiB: the slices that gathered each refined block's
// sub-blocks (three of 256 entries per block) were garbage, 2.4% of the
// client's CPU in mallocgc and 1.1% more clearing memory. With each
// worker's scratch reused (strongHasher.gather) 1000 pages took 0.86-0.94
// s on 1.7-1.8 CPU-s against 1.09-1.18 on 2.1-2.3, RSS 66 MiB again.
// That left single-lane a batch with one block to offer (at 1000 pages
// about a third of the batches; crypto/sha256 was 6-7% of each side's
// CPU). Now a lane takes the next message as soon as its own ends, and
// each side hashes a batch's offered blocks and its refined blocks'
// sub-blocks in one call, the whole blocks first (send_decide.go, strongs;
// receive_hash.go, settle): 3 interleaved pairs at 1000 pages 0.88-0.93 s
// on 1.73-1.81 CPU-s against 0.85-0.86 s on 1.64-1.69; 100 pages and 10%
// within the noise. The bench's sha256 floor hashes four blocks at a time
// too, as the least work a verified sync does: at 10% of 1 GiB it fell
// from 0.70 to 0.38 s, and the local sync (0.86 -> 0.63 s) is now 1.66
// times it, as reading and tier 1 of both copies (0.07 s and about 0.1 s
// on two cores) did not get faster. Pipe mode hashes in lanes too
// (laneBlocks): `checksum --no-cache` of a warm 1 GiB file 0.57-0.59 s
// on 1.05 CPU-s against 0.43 s on 0.75.
//
// # Tier 1 in XXH3 and the local sync by bytes (2026-12-02)
//
// With tier 2 in lanes, xxhash64 was the next piece: 13-14% of each side's
// CPU at 1000 pages (every block, then every sub-block of the 658 blocks
// refined, 1.66 GiB per side at 15-18 GB/s), 9% of the tree push's server.
// XXH3-64 (zeebo/xxh3, AVX-512 here) hashes 1 MiB at 75-80 GB/s and 4 KiB
// at 57 GB/s per core. Between peers with wire.CapXXH3 it is the tier-1
// hash of blocks, sub-blocks and the search (weakOf); records say which
// (cache.MethodXXH3). Interleaved pairs (push over TCP, 1 GiB,
// --no-cache): 1000 pages 0.88-0.93 s against 0.78-0.89 s, both ends 1.75
// against 1.55-1.7 CPU-s; 100 pages 1.40-1.76 against 1.34-1.56 CPU-s
// (times within this morning's noise, 0.71-0.89 s); the tree push 1.18-1.23
// against 1.04-1.17 s.
//
// A local sync without a cache (compare.go) hashes nothing: the two
// copies' bytes are compared. At 10% of 1 GiB replaced the protocol
// through in-memory streams spent 0.92 user + 0.29 system CPU-s (sha256
// of both copies 63% of it, xxhash64 11%, page-cache copies 8%) in
// 0.66 s; compared, 0.03 + 0.21 CPU-s in 0.19 s, the reads of both copies
// nearly all of it.
//
// # BLAKE3 against sha256 here
//
// zeebo/blake3 (AVX2, no AVX-512 path) hashes 1 MiB blocks at 2.6-3.3
// GB/cpu-s but 4 KiB sub-blocks at 1.1-1.4 (it hashes the chunks of one
// message eight at a time, and a 4 KiB message has four), so with it a
// 100-page push of 1 GiB took 0.63-0.66 s against sha256mb's 0.58-0.60
// (2026-12-02). lukechampine.com/blake3's AVX-512 (v1.3.0, and v1.4.1's
// guts driven by the engine) was no faster in the push (0.690 s against
// 0.649). engine/blake3mb (2026-12-03) runs sixteen lanes of its own
// AVX-512 assembly: a block's chunks sixteen at a time, and the
// sub-blocks of a refined block (strongHasher.sums) sixteen messages at
// a time, a lane each: 7.1-7.2 GB/cpu-s on 1 MiB blocks and 6.9-7.1 on
// 4 KiB sub-blocks together (BenchmarkStrong). The 100-page push, best of
// 3 in two interleaved rounds: -m blake3 0.37 and 0.39 s, sha256 0.56 and
// 0.56 s, zeebo's (GODEBUG=cpu.avx512f=off) 0.59 and 0.62 s; rsync
// 0.65-0.70 s. Without the SHA extensions (GODEBUG=cpu.sha=off, which
// sha256mb honours) sha256 took 2.24-2.36 s: there, and wherever both
// ends have AVX-512, BLAKE3 is the choice.
