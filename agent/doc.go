// Package agent is pdiffagent's network side: identities and pinning, the
// listener and the dialer, the two transports, the server's jail, and the
// session protocol that hands one engine.Stream per worker to engine.Send
// and engine.Receive. It knows nothing of block math.
//
// # Trust
//
// Every agent has an Identity: an Ed25519 key and a self-signed certificate
// kept in its identity directory (DefaultIdentityDir). Its fingerprint is
// "sha256:" and the hex sha256 of the certificate. Connections are mutual
// TLS 1.3 with ALPN "pdiffagent/1". Chains are not verified; instead the
// client checks the server's fingerprint against its pin, and the server
// checks the client's against its allow list, both in VerifyConnection
// (which also runs on resumed sessions). A peer with our own fingerprint is
// refused. A client never connects without a pin; KnownHosts remembers pins,
// which the command line saves only after a handshake verified them
// (ClientConfig.PinVerified). An identity directory writable by group or
// others is refused.
// A refused client gets nothing but a TLS alert, and the server logs its
// fingerprint and address, rate-limited (ratelog.go).
//
// The allow list can be replaced while the server runs (SetAllow; listen
// does it on SIGHUP): VerifyConnection reads the list in force through an
// atomic pointer, and every authenticated connection runs under a context
// of its client (clientContext) that SetAllow cancels, with a removedError
// cause, when it removes the client: its sessions end and it is told
// wire.CodeDenied, "removed from the server's allow list".
//
// # Transports
//
// The server listens on TCP and UDP with the same port number. Over TCP,
// every worker stream is a TLS connection of its own (so a session with N
// workers uses N connections: TCP flows already spread over bonded links
// and cores). Over QUIC, every worker is a QUIC stream, spread round-robin
// over ClientConfig.Connections connections, each from its own UDP socket,
// because quic-go runs one connection on one core. Dead peers are found by
// keepalives (TCP keepalive and TCP_USER_TIMEOUT; QUIC idle timeout), and
// stopped ones, whose kernel still acknowledges TCP, by a session watchdog
// (watchdog.go). TLS-over-TCP handshakes in progress are capped in total
// and per source address (handshakes.go). A QUIC connection that carries no stream for the
// handshake timeout is closed (a TCP connection is one stream, bounded by
// the same timeout until its Open or Attach).
//
// TLS records. crypto/tls does a TCP stream's handshake; then the stream
// protects and opens its TLS 1.3 records itself (tlsrec.go, recLayer),
// with the traffic secrets crypto/tls reports to the connection's own
// KeyLogWriter (kept in memory, used once, cleared) and the keys and IVs
// derived from them as RFC 8446 7.3 says. The records on the wire are TLS
// 1.3's, sequence numbers from zero after the handshake, so a peer that
// keeps crypto/tls (PDIFFAGENT_TLS_RECORDS=go turns recLayer off) reads and
// writes them as its own. What it saves is copies: crypto/tls copies what
// it writes into a record buffer of its own, which batchConn copied into
// its batch, and reads records through its own buffer, copying the
// plaintext out; recLayer seals into the batch itself and opens a record
// from the read buffer straight into the caller's buffer (a Data payload's
// block) when it holds the record, and gathers a message with a block's
// payload in writes of 1 MiB (bigBatchBytes). Measured on a fully
// replaced 1 GiB push (2 workers, loopback, 6 interleaved runs of each,
// 2-core VM): 1.21 s and 2.10 CPU-s of both ends against 1.28 s and 2.33
// with crypto/tls's records (1.50 against 1.60 s in an earlier set, with
// writes of 64 KiB). Where the CPU has VAES and VPCLMULQDQ with AVX-512,
// AES-GCM is agent/vaesgcm's, four blocks per instruction: the same
// records, sealed and opened at 15 GB/s per core against crypto/aes's 5.6
// on the bench's VM. The same push then took 1.06 s and 1.90 CPU-s
// against 1.29 s and 2.31 (6 interleaved runs of each; 1.22 s and 2.07
// against 1.39 and 2.54 in 10 on a busier hour). Not in FIPS 140 mode,
// where the records stay with crypto/aes (vaesgcm.Best chooses).
// So that crypto/tls takes nothing past the handshake into its buffer,
// batchConn ends its reads at record boundaries until the switch (a client
// may write the moment its handshake ends, before the server has read its
// Finished). After the handshake only application data, close_notify
// (io.EOF), an alert (reported as crypto/tls does) and NewSessionTicket
// (ignored) are accepted; anything else, a record over 2^14+256 bytes or
// one that fails authentication, ends the stream's reads for good. The
// switch needs TLS 1.3 and a suite known here (AES-128-GCM, AES-256-GCM,
// ChaCha20-Poly1305); otherwise, or in FIPS 140-only mode (where GCM with
// a caller's nonce is refused), crypto/tls keeps the records.
//
// A tunnel (ClientConfig.Tunnel, ServeTunnel; transport_tunnel.go) carries a
// session over one byte pipe, ssh's stdin and stdout to serve --stdio: the
// worker streams are yamux streams (a flow-control window each, 16 MiB),
// authenticated by ssh, so no TLS, pin or allow list; the server applies
// its policy (root, read-only, devices, limits) as for TCP. More pipes to
// the same far process (ClientConfig.Tunnels; ServeTunnel's joins: ssh
// sessions that joined the first, --ssh-connections) are yamux sessions of
// their own; worker w's stream goes over pipe w mod N, the control stream
// over the first, whose end ends them all.
//
// # Session protocol
//
// Every stream starts with a Hello each way: the version is checked, and
// the session's capabilities are those both Hellos of the control stream
// announce (wire.Hello.Common), handed to the engine as Session.Caps: a
// peer without a capability gets the behaviour from before it (wire/doc.go,
// "How the protocol grows"). Keepalive frames are skipped on every stream;
// their bytes count as progress for the watchdog. The client's first
// stream is the control stream, which is also worker 0:
//
//	client: Hello, Open{op, session id, path, params}
//	server: Hello, OpenReply{size of a pulled source, workers accepted, target's record digest} | Error
//	client, on each further stream w = 1..workers-1: Hello, Attach{session id, w}
//
// The server validates the Open (path inside the root, read-only, params,
// workers capped at ServerConfig.MaxWorkers), opens and locks the file
// through its opener (opener.go: the engine's target lifecycle, beneath
// the root), then waits — bounded by HandshakeTimeout, and watching the
// control stream for a client that gives up — until every worker has
// attached.
// Then both sides run the engine over the streams in worker order: the
// sender is the client for a push and the server for a pull. The client
// does not wait for the server's Hello on worker streams: their first
// Recv consumes it.
//
// Errors travel as wire.Error frames and become *engine.PeerError on the
// other side. When a session ends, each side closes its file (the server
// also releases its lock), half-closes every stream and waits, bounded,
// for the peer's half-close, so that a last frame (FinalAck, Error) is never
// cut off by a reset; Push and Pull therefore return after the server has
// finished with the file. Aborting a stream interrupts blocked calls
// through expired deadlines and half-closes it (QUIC: STOP_SENDING as
// well), so that an Error frame written just before still arrives.
//
// A server shutting down (Close, or Serve's ctx ending) first sends every
// running session's client an Error "server shutting down" (CodeCanceled),
// then cancels the engine; QUIC connections are closed only after that.
//
// # Trees
//
// PushTree pushes a directory in one tree session (tree_client.go,
// tree_server.go; engine/tree has the walk): the client's Open has
// wire.OpTree and names the tree's directory beneath the root (made, with
// its parents, if missing); PullTree's has wire.OpTreePull, a session
// that only lists, stats and sends files (TreeGet, each opened through
// the opener as a single-file pull), which a read-only server or client
// may run. The server answers with the workers it grants (its memory budget reserved for them once) and then serves one
// TreeReq at a time on the control stream, which is never an engine
// stream: listings in bounded batches (to a client with
// wire.CapTreeRecords that asks, wire.TreeListRecords, each regular
// file's current record digest with its entry, when the server keeps a
// cache and the session allows it: the
// client then reports a quick-check skip as verified where its own
// record's digest is the same; tree_listrecords.go says what "current"
// is and what the lookups cost), entry operations applied through
// an os.Root on the tree's directory (device nodes, TreeMknod, only with
// AllowDevices: mknodat through the node's directory opened beneath that
// root), and TreeFile, which opens the file
// through the jail and opener exactly as a single-file push (read-only,
// locks, hard-link guard, room, owner) and then runs the engine over the
// worker streams it names (TreeReq.Streams: one for a small file, all
// for a large one), in a goroutine, while the control stream serves the
// next requests: files run side by side on disjoint streams. Streams
// attach, on first use, after a TreeAttach naming their indices and a
// fresh session id; they carry file after file (CloseSend held), and a
// failed file's engine aborts its own, which the client attaches anew: a
// failure costs its file, not the session. A stream the client names
// while the server's side of its previous file is still closing is
// waited for (bounded by that engine run and its watchdog).
//
// # Jail
//
// The server's root is a jail: see jail.go. Two transfers never touch one
// file at once: a push holds an exclusive lock on the file (device and
// inode), pulls and dry runs a shared one; a conflicting session fails at
// once with wire.CodeBusy. The server also takes flock on the file (shared
// or exclusive) for cooperating processes on its machine; a file they hold
// is busy too. A file with more than one hard link is refused
// unless the server allows it (guard.go). A push must fit in the free space
// above a reserve, and a failed one that wrote nothing leaves the target as
// it was (space.go). A dry-run push to a missing file runs the
// receiver with no file (nothing is created); a push never creates
// directories.
//
// # Scrub
//
// With ServerConfig.VerifyInterval and a cache, the server re-reads the
// files beneath its root that have a record, in the background, one at a
// time at the lowest priority, and logs blocks that no longer match
// (scrub.go says how it keeps out of the sessions' way and out of
// everything beyond the root). Each session that ends well puts its file's
// path in the cache's path index, which is how the scrub finds them.
//
// # Memory
//
// Sessions reserve their workers' buffers in one server-wide budget
// (ServerConfig.MaxMemory; budget.go says what it counts and what not)
// before the OpenReply, which may grant fewer workers than asked.
//
// # Choices
//
//   - Ed25519 keys, and a certificate that is a pure function of the key
//     (deterministic signature, fixed template): two processes creating an
//     identity at once agree on its fingerprint, and a lost certificate
//     comes back identical.
//   - Over TCP, ClientConfig.Connections is ignored: one connection per
//     worker already spreads the flows. Outcome reports what was used.
//   - wire.FlagAtomic (replace at the end) is the target's business, not
//     the engine's: the receiver runs into a temporary file beside the
//     target, renamed over it before the FinalAck (atomic.go). A pull does
//     the same locally and does not send the flag.
//   - Push and Pull return Outcome (engine.Stats plus transport, connections
//     and workers) rather than bare Stats.
//   - A remote without a port means DefaultPort.
package agent
