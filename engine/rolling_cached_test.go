package engine

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/pdiffagent/pdiffagent/engine/cache"
)

// recordedRollSync makes a replica of old with a block-hash record on
// both sides (a first sync that wrote nothing), then changes the source
// to data and syncs again with the records and the search: the steady
// state of replication. It checks the result byte for byte and that the
// receiver used its record, and returns the second sync's stats.
func recordedRollSync(t *testing.T, data, old []byte, p Params) (Stats, Stats) {
	t.Helper()
	checkNoLeak(t)
	store, err := cache.Open(cache.Options{Dir: filepath.Join(t.TempDir(), "cache")})
	if err != nil {
		t.Fatal(err)
	}
	opt := Options{Cache: store}
	src, dst := writeCase(t, syncCase{src: old, dst: old})
	if _, rst := syncCaps(t, src, dst, p, opt, rollCaps); rst.TargetCache != "miss" {
		t.Fatalf("first sync: target cache %q, want miss", rst.TargetCache)
	}
	if err := os.WriteFile(src, data, 0o644); err != nil {
		t.Fatal(err)
	}
	sst, rst := syncCaps(t, src, dst, p, opt, rollCaps)
	wantSynced(t, dst, data, sst, rst)
	if rst.TargetCache != "hit" {
		t.Fatalf("the receiver used no record: %+v", rst)
	}
	return sst, rst
}

// TestRollingWithRecords: a receiver whose record spares it the reads
// still offers the search the old bytes of the blocks it needs, so an
// insertion or a deletion in a replica kept with records sends about the
// bytes inserted, as without them (it sent the rest of the file).
func TestRollingWithRecords(t *testing.T) {
	old := randBytes(30, 6*mib+333)
	for _, n := range []int{1, 4096, mib + 1} {
		for _, del := range []bool{false, true} {
			name := fmt.Sprintf("insert %d", n)
			data := insertAt(old, 100, randBytes(uint64(n), n))
			if del {
				name = fmt.Sprintf("delete %d", n)
				data = deleteAt(old, len(old)/2+7, n)
			}
			t.Run(name, func(t *testing.T) {
				sst, rst := recordedRollSync(t, data, old, rollParams())
				if sst.BytesSent > 2*int64(n)+slack || rst.BlocksMoved == 0 {
					t.Errorf("sent %d bytes for %d changed, %d blocks moved", sst.BytesSent, n, rst.BlocksMoved)
				}
			})
		}
	}
}

// TestRollingWithRecordsBacksOff: where every block was replaced, nothing
// moved, a receiver with a record reads the blocks it rewrites for the
// search only until the search turns itself off (rollStreak of them came
// whole in a row; its hasher is up to a window ahead of the blocks that
// came), and then only refinement's probes: not the whole file.
func TestRollingWithRecordsBacksOff(t *testing.T) {
	const size = 64 * mib
	old := randBytes(31, size)
	p := Params{Session: Session{BlockSize: mib, Workers: 1}}
	sst, rst := recordedRollSync(t, randBytes(32, size), old, p)
	if rst.BlocksMoved != 0 || sst.BytesSent != size {
		t.Fatalf("moved %d blocks, sent %d bytes of %d, all replaced", rst.BlocksMoved, sst.BytesSent, size)
	}
	limit := int64(rollStreak + (windowBatches+1)*batchBytes + refineStreak*mib + size/refineProbe)
	if rst.TargetRead > limit {
		t.Errorf("read %d bytes of the replaced target, want at most %d", rst.TargetRead, limit)
	}
	t.Logf("read %d of %d bytes (at most %d)", rst.TargetRead, size, limit)
}
