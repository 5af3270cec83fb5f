// Command pdiffagent replicates very large files and block devices by
// delta transfer.
//
// This package owns the command line and nothing else: the cobra command
// tree (one newXCommand(opts) per command, each in its own file, whose RunE
// calls runX(ctx, …)), the flags (options structs with AddFlags; flags
// several commands share are option groups in optgroups.go, each with its
// own AddFlags, check and apply, embedded by the commands that take them),
// the
// progress display on stderr, the result output (a human summary or one
// JSON object on stdout), and the one place where errors become exit
// codes (exitCode in main.go):
//
//	0    the target is identical to the source (after a sync, or already,
//	     in a dry run)
//	1    an error
//	2    a usage error: unknown command or flag, bad flag value
//	3    a dry run found differences (the target is not identical)
//	75   a failure worth retrying (EX_TEMPFAIL): network, busy, changed
//	130  interrupted by SIGINT (128+signal; 143 for SIGTERM)
//
// `version` and the root's --version print the build info (module version,
// vcs.revision, vcs.modified; `make build` passes the commit with -ldflags
// where the go command cannot stamp it) and wire.ProtocolVersion.
//
// errorCode (errcodes.go) classifies every failure into a closed list of
// error codes (the --json "error_code"; README "JSON output"), and exitCode
// derives the exit status from it: the two are the only places that map
// errors. A failure's JSON object is printed in one place too
// (printFailureJSON, after the command returned): its partial result when
// the command returned a *resultError, otherwise the error alone, so usage
// errors print one object as well. --retries (retry.go) runs a sync again
// for the codes retryable names.
//
// --bwlimit and --io-limit (limits.go) parse rsync's units and become
// engine.Rates: one per session for push and pull (agent.ClientConfig.Link),
// one for all of listen's sessions, one per pipe stage pacing its stdin
// and stdout.
//
// push and pull with a [user@]host:path remote (ssh.go, parseSSHRemote)
// start `serve --stdio` (serve.go) on the far side through -e/--rsh and
// hand its pipe to the agent as ClientConfig.Tunnel; each run of --retries
// starts a new one. With --ssh-connections N the first far process answers
// a join preamble (sshjoin.go) with N-1 single-use tokens; N-1 more ssh
// sessions send one each, and their serve processes pass their stdin and
// stdout by SCM_RIGHTS over a unix socket in a private directory to the
// first (sshjoin_unix.go: rendezvous), which serves them as more pipes of
// the same session (agent.ServeTunnel's joins, ClientConfig.Tunnels).
//
// Bad input is refused before anything is opened or created:
// checkLocalKind (sync.go) takes only regular files and block devices as a
// local source or target (a FIFO would hang the open); gen copy refuses
// the same file; limits that must be positive and unknown help topics are
// usage errors (exit 2). push and pull save a --pin to known_hosts only
// from ClientConfig.PinVerified, after a handshake verified it; a --pin
// that differs from the remembered one needs --replace-pin (remote.go).
//
// listen reads --allow-file again on SIGHUP (agent.Server.SetAllow); each
// line is a fingerprint, optionally followed by read-only, and any other
// word is an error (readAllowFile). Its hardening flags (--allow-hardlinks,
// --allow-owner, --min-free, --max-file-size, --max-memory) map one to one
// onto agent.ServerConfig, whose fields document them. The
// hidden `man DIR` command (make man) writes the man pages with cobra/doc.
//
// The work itself belongs to the engine (engine.SyncLocal and, across the
// network, the agent). gen is a thin shell over package bench. bench
// drives bench.Run and holds the parts that run pdiffagent itself: the
// tools it measures (bench_tools.go: the pdiffagent binary itself, run as
// child processes so that each end has its own peak RSS), the hidden
// child-process ends (bench_peer.go: peer-serve, peer-push and peer-sync
// for the syncs, peer-floor-serve and peer-floor-send for the network
// floors), and writing its report (bench_out.go).
package main
