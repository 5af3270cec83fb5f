package cache

import (
	"errors"
	"os"
	"testing"

	"github.com/pdiffagent/pdiffagent/sysio"
)

const journalBlocks = 3000

func startJournal(t *testing.T, s *Store, f *sysio.File) *Journal {
	t.Helper()
	j, err := s.StartJournal(f, journalBlocks*testBlock, testBlock, 1)
	if err != nil || j == nil {
		t.Fatalf("StartJournal: %v %v", j, err)
	}
	t.Cleanup(func() { j.Close() })
	return j
}

func syncs(n *int) func() error { return func() error { *n++; return nil } }

// covered reads what a Resume says of every block.
func covered(t *testing.T, r *Resume) []bool {
	t.Helper()
	have := make([]bool, journalBlocks)
	dst := make([]Entry, journalBlocks)
	if err := r.Read(0, dst, have); err != nil {
		t.Fatal(err)
	}
	for i, h := range have {
		if h && dst[i] != entry(uint64(i)) {
			t.Fatalf("block %d: wrong entry", i)
		}
	}
	return have
}

func wantCovered(t *testing.T, have []bool, ranges ...[2]int) {
	t.Helper()
	want := make([]bool, len(have))
	for _, r := range ranges {
		for i := r[0]; i < r[1]; i++ {
			want[i] = true
		}
	}
	for i := range have {
		if have[i] != want[i] {
			t.Fatalf("block %d covered %v, want %v", i, have[i], want[i])
		}
	}
}

// TestJournalSealedResume: entries up to the seal are trusted while the
// target keeps the sealed identity; the target sync precedes every
// checkpoint.
func TestJournalSealedResume(t *testing.T) {
	s := newStore(t, Options{})
	f := newFile(t, journalBlocks*testBlock, 40)
	j := startJournal(t, s, f)
	j.Add(0, entries(0, 1500))
	j.Add(2000, entries(2000, 10))
	var n int
	if err := j.Checkpoint(syncs(&n)); err != nil || n != 1 {
		t.Fatalf("checkpoint: %v, %d target syncs", err, n)
	}
	j.Add(1500, entries(1500, 100))
	if err := j.Seal(f); err != nil {
		t.Fatal(err)
	}
	if err := j.Add(1600, entries(1600, 1)); err == nil {
		t.Fatal("Add after Seal")
	}
	r, err := s.OpenJournal(f, journalBlocks*testBlock, testBlock, 1)
	if err != nil || r == nil {
		t.Fatalf("sealed journal not usable: %v", err)
	}
	defer r.Close()
	if r.Blocks != 1610 {
		t.Fatalf("%d blocks covered", r.Blocks)
	}
	wantCovered(t, covered(t, r), [2]int{0, 1600}, [2]int{2000, 2010})
	for _, c := range []struct {
		size  int64
		block int
		m     uint8
	}{{journalBlocks*testBlock + 1, testBlock, 1}, {journalBlocks * testBlock, 2 * testBlock, 1}, {journalBlocks * testBlock, testBlock, 2}} {
		if r, _ := s.OpenJournal(f, c.size, c.block, c.m); r != nil {
			t.Fatalf("journal used for %+v", c)
		}
	}
	// A write behind our back after the seal (mtime restored): not trusted.
	scribble(t, f, 5)
	if r, _ := s.OpenJournal(f, journalBlocks*testBlock, testBlock, 1); r != nil {
		t.Fatal("journal trusted after the target was written")
	}
}

// TestJournalUnsealedIgnored: a receiver killed before sealing leaves a
// journal a rerun must not trust, checkpoints or not.
func TestJournalUnsealedIgnored(t *testing.T) {
	s := newStore(t, Options{})
	f := newFile(t, journalBlocks*testBlock, 41)
	j := startJournal(t, s, f)
	j.Add(0, entries(0, 100))
	var n int
	j.Checkpoint(syncs(&n))
	j.Add(100, entries(100, 100))
	j.Checkpoint(syncs(&n))
	j.Close()
	if r, err := s.OpenJournal(f, journalBlocks*testBlock, testBlock, 1); r != nil || err != nil {
		t.Fatalf("unsealed journal used: %v", err)
	}
}

// TestJournalReplayStopsAtLastCheckpoint: replay trusts entries only up to
// the last valid checkpoint, and nothing after a torn or corrupt frame.
func TestJournalReplayStopsAtLastCheckpoint(t *testing.T) {
	s := newStore(t, Options{})
	f := newFile(t, journalBlocks*testBlock, 42)
	j := startJournal(t, s, f)
	var n int
	j.Add(0, entries(0, 100))
	j.Checkpoint(syncs(&n))
	mark1 := journalSize(t, j)
	j.Add(100, entries(100, 100)) // frame after checkpoint 1
	j.Checkpoint(syncs(&n))
	mark2 := journalSize(t, j)
	j.Add(200, entries(200, 100)) // no checkpoint follows
	j.w.Flush()
	end := journalSize(t, j)

	check := func(name string, damage func(b []byte) []byte, want ...[2]int) {
		t.Helper()
		b, _ := os.ReadFile(j.path)
		b = damage(b)
		p := j.path + "." + name
		os.WriteFile(p, b, 0o600)
		jf, _ := os.Open(p)
		defer jf.Close()
		r, sealed, err := replay(jf)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if sealed != (sysio.Identity{}) {
			t.Fatalf("%s: unsealed journal replayed as sealed", name)
		}
		wantCovered(t, covered(t, r), want...)
	}
	same := func(b []byte) []byte { return b }
	check("whole", same, [2]int{0, 200})
	check("torn-after-ckpt2", func(b []byte) []byte { return b[:end-7] }, [2]int{0, 200})
	check("ckpt2-torn", func(b []byte) []byte { return b[:mark2-1] }, [2]int{0, 100})
	check("frame2-corrupt", func(b []byte) []byte { b[mark1+frameHead+20] ^= 1; return b }, [2]int{0, 100})
	check("ckpt1-corrupt", func(b []byte) []byte { b[mark1-3] ^= 1; return b })
	check("header-only", func(b []byte) []byte { return b[:nonceSize+frameHead+headerPayload] })

	jf, _ := os.Open(j.path)
	defer jf.Close()
	jf2, _ := os.CreateTemp(t.TempDir(), "j")
	jf2.Write([]byte("short"))
	if _, _, err := replay(jf2); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("5-byte journal: %v", err)
	}
}

func journalSize(t *testing.T, j *Journal) int64 {
	t.Helper()
	j.w.Flush()
	fi, err := j.f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}

// TestJournalTargetSyncFailureNotCheckpointed: when the target cannot be
// synced, no checkpoint is written and the journal refuses more.
func TestJournalTargetSyncFailureNotCheckpointed(t *testing.T) {
	s := newStore(t, Options{})
	f := newFile(t, journalBlocks*testBlock, 43)
	j := startJournal(t, s, f)
	j.Add(0, entries(0, 10))
	boom := errors.New("disk full")
	if err := j.Checkpoint(func() error { return boom }); !errors.Is(err, boom) {
		t.Fatal(err)
	}
	if err := j.Seal(f); err == nil {
		t.Fatal("sealed after a failed target sync")
	}
	j.w.Flush()
	jf, _ := os.Open(j.path)
	defer jf.Close()
	r, _, err := replay(jf)
	if err != nil || r.Blocks != 0 {
		t.Fatalf("entries trusted without a target sync: %v %+v", err, r)
	}
}
