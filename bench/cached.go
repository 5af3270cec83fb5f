package bench

import "fmt"

// Cached is the tool that measures the steady state of replication with
// the block-hash cache (engine/cache): the replica was synced before with
// records kept on both sides, the source has changed since, and it is
// pushed again (over TCP, as the tcp tool) with the records. Its Prepare
// makes that state from the round's mutation, untimed: it pushes a copy of
// the mutated replica onto itself, so that the server reads it whole and
// records it as it is (as the previous sync would have left it), and moves
// the source's ctime (chmod to its own mode), so that the client's record
// of it is stale, as a changed source's is. The timed push then shows what
// the records save: the server reads only the blocks it rewrites or must
// confirm; the client reads the source whole, as it must. Beside the
// uncached tcp push of the same round, in the same run.
//
// One way this is kinder than real replication: the record Prepare leaves
// holds every block's tier-2 hash, as a sync that wrote nothing leaves it.
// A sync that wrote blocks records them by their tier-1 hash alone
// (engine/cache, "Lazy tier 2"), so the next push reads those of them that
// did not change again to confirm them: up to the share the previous round
// changed, more than this column shows.
const Cached = "cached"

// GoalCachedShare is the cached push's time over the uncached tcp push's
// at 10% changed (issue 13 asks it of a push whose server's page cache
// was dropped: --cold).
const GoalCachedShare = 0.6

// cachedRead is what the cached push's server read, and how it used its
// record: "12.0 MiB hit".
func cachedRead(r Result) string {
	if r.Stats.TargetCache == "" {
		return "-"
	}
	return fmt.Sprintf("%s %s", FormatBytes(r.Stats.TargetRead), r.Stats.TargetCache)
}

func cachedTarget(rep *Report, at func(string, float64) (Result, bool)) Target {
	t := Target{Name: fmt.Sprintf("cached push at 10%% at most %.1fx the uncached one", GoalCachedShare), Status: NA}
	c, okC := at(Cached, 0.1)
	tcp, okT := at("tcp", 0.1)
	if !okC || !okT {
		t.Detail = "needs a 10% round with tcp and cached"
		return t
	}
	t.Value = c.SyncSeconds / tcp.SyncSeconds
	t.Detail = fmt.Sprintf("%.2fx (cached %s, server read %s; tcp %s; page cache %s)", t.Value, secs(c.SyncSeconds),
		cachedRead(c), secs(tcp.SyncSeconds), c.Cache)
	t.Status = passIf(t.Value <= GoalCachedShare)
	return t
}
