package tree

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/pdiffagent/pdiffagent/engine/cache"
	"github.com/pdiffagent/pdiffagent/sysio"
	"github.com/pdiffagent/pdiffagent/sysio/sysiotest"
)

// recordTree is a source of two recorded files (16 and 12 blocks of 4 KiB)
// and a small one (2 blocks: no record), and the options of a tree sync
// with a block-hash cache.
func recordTree(t *testing.T) (src, dst string, opt Options, store *cache.Store) {
	t.Helper()
	if !sysio.CanSyncFS() {
		t.Skip("a local tree keeps records only where there is syncfs")
	}
	src, dst = t.TempDir(), filepath.Join(t.TempDir(), "dst")
	os.Mkdir(filepath.Join(src, "d"), 0o755)
	sysiotest.WriteFile(t, filepath.Join(src, "big"), sysiotest.RandomBytes(1, 64<<10))
	sysiotest.WriteFile(t, filepath.Join(src, "d", "big2"), sysiotest.RandomBytes(2, 48<<10))
	sysiotest.WriteFile(t, filepath.Join(src, "small"), sysiotest.RandomBytes(3, 8<<10))
	store, err := cache.Open(cache.Options{Dir: filepath.Join(t.TempDir(), "cache")})
	if err != nil {
		t.Fatal(err)
	}
	opt = testOptions()
	opt.Engine.Cache = store
	return src, dst, opt, store
}

// hasRecord reports whether path has a record its identity still matches.
func hasRecord(t *testing.T, store *cache.Store, path string) bool {
	t.Helper()
	f, err := sysio.Open(path, sysio.ReadOnly, sysio.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rec, current, err := store.Inspect(f)
	if err != nil {
		t.Fatal(err)
	}
	if rec != nil {
		rec.Close()
	}
	return rec != nil && current
}

// TestTreeRecords: a tree synced with a block-hash cache records its large
// files on both sides, so a rerun that compares every file reads only the
// small file, and after one block of the source changed the target reads
// at most that block.
func TestTreeRecords(t *testing.T) {
	src, dst, opt, store := recordTree(t)
	syncTree(t, src, dst, opt)
	sysiotest.TreeEqual(t, src, dst, sysiotest.TreeOptions{})
	for _, rel := range []string{"big", "d/big2"} {
		if !hasRecord(t, store, filepath.Join(src, rel)) || !hasRecord(t, store, filepath.Join(dst, rel)) {
			t.Fatalf("%s: no record on both sides after the sync", rel)
		}
	}
	if hasRecord(t, store, filepath.Join(dst, "small")) {
		t.Errorf("small: recorded, want no record for a file of 2 blocks")
	}

	// A rerun skips every file after a stat; the recorded ones are
	// verified by their records, unless one was written since (ctime).
	if st := syncTree(t, src, dst, opt); st.FilesVerified != 2 || st.FilesSkipped != 1 || st.SourceRead+st.TargetRead != 0 {
		t.Errorf("rerun: %+v, want the 2 recorded files verified by their records, the small one skipped, nothing read", st)
	}
	p2 := filepath.Join(dst, "d", "big2")
	fi, err := os.Stat(p2)
	if err != nil {
		t.Fatal(err)
	}
	sysiotest.WriteFile(t, p2, sysiotest.ReadFile(t, p2)) // same bytes, same mtime: only ctime moves
	os.Chtimes(p2, fi.ModTime(), fi.ModTime())
	if st := syncTree(t, src, dst, opt); st.FilesVerified != 1 || st.FilesSkipped != 2 {
		t.Errorf("rerun after d/big2 was written behind the cache: %+v, want 1 verified, 2 skipped", st)
	}

	all := opt
	all.ChecksumAll = true
	st := syncTree(t, src, dst, all)
	if st.FilesVerified != 3 || st.SourceRead != 8<<10 || st.TargetRead != (8+48)<<10 {
		t.Errorf("rerun comparing every file: %+v, want 3 verified, only the small file read on the source, and d/big2 too on the target", st)
	}

	p := filepath.Join(src, "big")
	b := sysiotest.ReadFile(t, p)
	b[5*4096+7] ^= 0xff
	sysiotest.WriteFile(t, p, b)
	later := time.Now().Add(time.Hour)
	os.Chtimes(p, later, later)
	st = syncTree(t, src, dst, opt)
	sysiotest.TreeEqual(t, src, dst, sysiotest.TreeOptions{})
	if st.FilesChanged != 1 || st.BlocksChanged != 1 || st.SourceRead != 64<<10 || st.TargetRead > 4096 {
		t.Errorf("after one block changed: %+v, want 1 block, the changed source read whole and at most that block of the target", st)
	}
	if !hasRecord(t, store, filepath.Join(dst, "big")) {
		t.Errorf("big: no record after the second sync")
	}
}

// TestTreeRecordsWaitForFlush: no record of a target file is visible
// before the tree is durable (a crash there leaves none that trusts data
// not yet on disk), and a flush that fails (the crash) leaves none.
func TestTreeRecordsWaitForFlush(t *testing.T) {
	src, dst, opt, store := recordTree(t)
	opt.ChecksumAll = true // the second run compares the files the first wrote
	crash := errors.New("crashed before the flush")
	for _, fail := range []bool{true, false} {
		checked := false
		testHookFlush = func() error {
			checked = true
			for _, rel := range []string{"big", "d/big2"} {
				if hasRecord(t, store, filepath.Join(dst, rel)) {
					t.Errorf("%s: a record is visible before the tree's flush", rel)
				}
			}
			if fail {
				return crash
			}
			return nil
		}
		t.Cleanup(func() { testHookFlush = nil })
		_, err := Sync(context.Background(), src, dst, "", opt)
		if !checked {
			t.Fatal("the flush hook did not run")
		}
		for _, rel := range []string{"big", "d/big2"} {
			if got := hasRecord(t, store, filepath.Join(dst, rel)); got == fail {
				t.Errorf("flush failed %v: %s has a record: %v", fail, rel, got)
			}
		}
		if fail && !errors.Is(err, crash) {
			t.Fatalf("Sync: %v, want the flush's error", err)
		}
		if !fail && err != nil {
			t.Fatal(err)
		}
	}
	sysiotest.TreeEqual(t, src, dst, sysiotest.TreeOptions{})
}
