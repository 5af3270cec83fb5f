package engine

import "context"

// Test hooks. They are nil in every shipped binary and set only by tests
// that run their own test binary as the CLI (cmd/pdiffagent's fault
// tests), before anything runs, to hold a child process at a chosen point
// until the test has signalled, stopped or killed it. ctx is the sync's.
var (
	// TestHookWeak wraps the tier-1 hash of every sync the process runs
	// (prog is the side's Options.Progress, maybe nil).
	TestHookWeak func(ctx context.Context, w WeakFunc, prog *Progress) WeakFunc
	// TestHookCommitted is called by a receiver once it has committed the
	// target (fsync, mode, mtime) and before it acknowledges the Final.
	TestHookCommitted func(ctx context.Context)
)
