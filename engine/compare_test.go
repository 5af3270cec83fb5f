package engine

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/pdiffagent/pdiffagent/engine/cache"
	"github.com/pdiffagent/pdiffagent/sysio"
)

var compareReads = []struct {
	name string
	opt  Options
}{
	{"pread", Options{CompareLocal: true}},
	{"direct", Options{CompareLocal: true, Direct: sysio.DirectOn}},
}

// Every sync case compared byte by byte: the same result, and the same
// counts as the protocol's, with nothing on the wire.
func TestCompareLocalCases(t *testing.T) {
	for _, workers := range []int{1, 3} {
		for _, c := range cases() {
			for _, rd := range compareReads {
				t.Run(fmt.Sprintf("%s/workers=%d/%s", c.name, workers, rd.name), func(t *testing.T) {
					checkNoLeak(t)
					p := Params{Session: Session{BlockSize: testBS, Workers: workers}}
					src, dst := writeCase(t, c)
					st, err := SyncLocal(context.Background(), src, dst, p, rd.opt)
					if err != nil {
						t.Fatal(err)
					}
					checkFile(t, dst, c.src)
					src2, dst2 := writeCase(t, c)
					proto, err := SyncLocal(context.Background(), src2, dst2, p, Options{})
					if err != nil {
						t.Fatal(err)
					}
					if st.BytesWire != 0 || proto.BytesWire == 0 {
						t.Errorf("bytes_wire compared %d, by the protocol %d: want 0 and more", st.BytesWire, proto.BytesWire)
					}
					if c.changed >= 0 && st.BlocksChanged != c.changed {
						t.Errorf("blocks_changed = %d, want %d", st.BlocksChanged, c.changed)
					}
					if st.BlocksChanged != proto.BlocksChanged || st.BlocksConfirmed != proto.BlocksConfirmed || st.BytesWritten > proto.BytesWritten {
						t.Errorf("compared: changed %d confirmed %d written %d; protocol: %d %d %d", st.BlocksChanged, st.BlocksConfirmed,
							st.BytesWritten, proto.BlocksChanged, proto.BlocksConfirmed, proto.BytesWritten)
					}
					if !st.Verified || st.SourceRead != int64(len(c.src)) {
						t.Errorf("verified %v, source read %d of %d", st.Verified, st.SourceRead, len(c.src))
					}
				})
			}
		}
	}
}

// A changed block is written in the runs of sub-blocks that differ when at
// most half of them do, else whole.
func TestCompareLocalRuns(t *testing.T) {
	const bs, sub = 16 * testBS, testBS
	src := randBytes(30, 4*bs+100)
	old := flip(src,
		1, 2*sub+5, 3*sub, // block 0: sub-blocks 0, 2, 3 (two runs)
		bs+9*sub, // block 1: one sub-block
	)
	copy(old[2*bs:3*bs], randBytes(31, bs)) // block 2: all of it
	old = flip(old, len(old)-1)             // the short last block
	for _, rd := range compareReads {
		t.Run(rd.name, func(t *testing.T) {
			s, d := writeCase(t, syncCase{src: src, dst: old})
			p := Params{Session: Session{BlockSize: bs, Workers: 2, MinBlock: sub}}
			st, err := SyncLocal(context.Background(), s, d, p, rd.opt)
			if err != nil {
				t.Fatal(err)
			}
			checkFile(t, d, src)
			if st.BlocksChanged != 4 || st.BlocksRefined != 2 || st.SubBlocksSent != 4 || st.BlocksConfirmed != 1 {
				t.Errorf("changed %d refined %d sub-blocks %d confirmed %d, want 4 2 4 1",
					st.BlocksChanged, st.BlocksRefined, st.SubBlocksSent, st.BlocksConfirmed)
			}
			if want := int64(4*sub + bs + 100); st.BytesWritten != want || st.BytesSent != want {
				t.Errorf("written %d, sent %d, want %d", st.BytesWritten, st.BytesSent, want)
			}
		})
	}
}

func TestDiffRuns(t *testing.T) {
	a := randBytes(32, 10*4+3)
	for _, c := range []struct {
		flips []int
		want  string
		n     int
	}{
		{nil, "[]", 0},
		{[]int{0}, "[[0 4]]", 1},
		{[]int{0, 4, 12}, "[[0 8] [12 16]]", 3},
		{[]int{42}, "[[40 43]]", 1},
		{[]int{39, 40}, "[[36 43]]", 2},
	} {
		runs, n := diffRuns(a, flip(a, c.flips...), 4)
		if got := fmt.Sprint(runs); got != c.want || n != c.n {
			t.Errorf("flips %v: %s %d, want %s %d", c.flips, got, n, c.want, c.n)
		}
	}
}

// Zero blocks of the source become holes (writing nothing where the
// target has one), unless NoSparse.
func TestCompareLocalSparse(t *testing.T) {
	const bs = 64 << 10
	for _, noSparse := range []bool{false, true} {
		t.Run(fmt.Sprint("nosparse=", noSparse), func(t *testing.T) {
			dir := t.TempDir()
			s, d := filepath.Join(dir, "s"), filepath.Join(dir, "d")
			data := randBytes(33, bs)
			// The source: data, a hole, data, written zeros, a hole.
			sf, err := os.Create(s)
			if err != nil {
				t.Fatal(err)
			}
			mustWriteAt(t, sf, data, 0)
			mustWriteAt(t, sf, data, 2*bs)
			mustWriteAt(t, sf, make([]byte, bs), 3*bs)
			if err := sf.Truncate(5 * bs); err != nil {
				t.Fatal(err)
			}
			sf.Close()
			// The target: data in blocks 0, 1 and 3, holes in 2 and 4.
			old := randBytes(34, bs)
			df, err := os.Create(d)
			if err != nil {
				t.Fatal(err)
			}
			for _, b := range []int64{0, 1, 3} {
				mustWriteAt(t, df, old, b*bs)
			}
			if err := df.Truncate(5 * bs); err != nil {
				t.Fatal(err)
			}
			df.Close()
			p := Params{Session: Session{BlockSize: bs, Workers: 2, NoSparse: noSparse}}
			st, err := SyncLocal(context.Background(), s, d, p, Options{CompareLocal: true})
			if err != nil {
				t.Fatal(err)
			}
			want, _ := os.ReadFile(s)
			checkFile(t, d, want)
			if st.BlocksChanged != 4 || st.BlocksZero != 2 || st.BlocksConfirmed != 1 {
				t.Errorf("changed %d zero %d confirmed %d, want 4 2 1", st.BlocksChanged, st.BlocksZero, st.BlocksConfirmed)
			}
			// Blocks 0 and 2 hold data; 1 and 3 zeros, written only under
			// NoSparse; 4 stays a hole.
			after := allocated(t, d)
			if noSparse && after < 4*bs {
				t.Errorf("NoSparse: %d bytes allocated, want 4 blocks", after)
			}
			if !noSparse && after > 2*bs {
				t.Errorf("%d bytes allocated, want 2 blocks: no holes punched", after)
			}
		})
	}
}

func mustWriteAt(t *testing.T, f *os.File, b []byte, off int64) {
	t.Helper()
	if _, err := f.WriteAt(b, off); err != nil {
		t.Fatal(err)
	}
}

// A dry run compares and writes nothing, not even a missing target.
func TestCompareLocalDryRun(t *testing.T) {
	src := randBytes(35, 8*testBS)
	old := flip(src, 3, 5*testBS)
	s, d := writeCase(t, syncCase{src: src, dst: old})
	p := Params{Session: Session{BlockSize: testBS, Workers: 2, DryRun: true}}
	st, err := SyncLocal(context.Background(), s, d, p, Options{CompareLocal: true})
	if err != nil {
		t.Fatal(err)
	}
	checkFile(t, d, old)
	if st.BlocksChanged != 2 || st.BytesWritten != 0 || st.Verified || !st.DryRun {
		t.Errorf("dry run: %+v", st)
	}
	missing := filepath.Join(t.TempDir(), "missing")
	if st, err = SyncLocal(context.Background(), s, missing, p, Options{CompareLocal: true}); err != nil || st.BlocksChanged != 8 {
		t.Fatalf("dry run to a missing target: %v, %+v", err, st)
	}
	if _, err := os.Stat(missing); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a dry run created the target: %v", err)
	}
}

// The target takes the source's mode and mtime; an atomic sync replaces
// it whole and leaves no temporary file.
func TestCompareLocalAtomicAndMetadata(t *testing.T) {
	src := randBytes(36, 9*testBS+7)
	s, d := writeCase(t, syncCase{src: src, dst: flip(src, 4*testBS)})
	if err := os.Chmod(s, 0o640); err != nil {
		t.Fatal(err)
	}
	stamp := time.Date(2020, 1, 2, 3, 4, 5, 6000, time.UTC)
	if err := os.Chtimes(s, stamp, stamp); err != nil {
		t.Fatal(err)
	}
	p := Params{Session: Session{BlockSize: testBS, Workers: 2}}
	st, err := SyncLocalAtomic(context.Background(), s, d, p, Options{CompareLocal: true})
	if err != nil {
		t.Fatal(err)
	}
	checkFile(t, d, src)
	fi, err := os.Stat(d)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o640 || !fi.ModTime().Equal(stamp) || st.BlocksChanged != 1 || st.BytesWire != 0 {
		t.Errorf("mode %v mtime %v, stats %+v", fi.Mode(), fi.ModTime(), st)
	}
	if left := leftTemps(t, filepath.Dir(d)); len(left) > 0 {
		t.Errorf("temporary files left: %v", left)
	}
}

// A source that changes while it is compared fails the sync.
func TestCompareLocalSourceChanged(t *testing.T) {
	src := randBytes(37, 16*testBS)
	s, d := writeCase(t, syncCase{src: src, dst: flip(src, 2*testBS)})
	testHookCompared = func(block int64) {
		if block == 0 {
			later := time.Now().Add(time.Hour)
			if err := os.Chtimes(s, later, later); err != nil {
				t.Error(err)
			}
		}
	}
	t.Cleanup(func() { testHookCompared = nil })
	p := Params{Session: Session{BlockSize: testBS, Workers: 1}}
	if _, err := SyncLocal(context.Background(), s, d, p, Options{CompareLocal: true}); !errors.Is(err, ErrSourceChanged) {
		t.Fatalf("err %v, want ErrSourceChanged", err)
	}
}

// A range compares and writes only its blocks.
func TestCompareLocalRange(t *testing.T) {
	src := randBytes(38, 16*testBS+100)
	old := flip(src, 1, 3*testBS, 5*testBS, 7*testBS+2, 12*testBS, 16*testBS+50)
	s, d := writeCase(t, syncCase{src: src, dst: old})
	p := Params{Session: Session{BlockSize: testBS, Workers: 2}, File: File{Start: 4 * testBS, End: 8 * testBS}}
	st, err := SyncLocal(context.Background(), s, d, p, Options{CompareLocal: true})
	if err != nil {
		t.Fatal(err)
	}
	want := append(append(append([]byte(nil), old[:4*testBS]...), src[4*testBS:8*testBS]...), old[8*testBS:]...)
	checkFile(t, d, want)
	if st.BlocksTotal != 4 || st.BlocksChanged != 2 || st.BytesWire != 0 {
		t.Errorf("%+v", st)
	}
}

// Only a sync whose hashes nothing needs compares bytes.
func TestCompareOK(t *testing.T) {
	store, err := cache.Open(cache.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	on := Options{CompareLocal: true}
	for _, c := range []struct {
		p    Params
		opt  Options
		want bool
	}{
		{Params{}, on, true},
		{Params{}, Options{}, false},
		{Params{}, Options{CompareLocal: true, Cache: store}, false},
		{Params{Session: Session{NoCache: true}}, Options{CompareLocal: true, Cache: store}, true},
		{Params{}, Options{CompareLocal: true, Link: NewRate(1<<20, testBS)}, false},
		{Params{Session: Session{WholeFile: true}}, on, false},
	} {
		if got := compareOK(c.p, c.opt); got != c.want {
			t.Errorf("compareOK(%+v, cache %v link %v) = %v", c.p.Session, c.opt.Cache != nil, c.opt.Link != nil, got)
		}
	}
}
