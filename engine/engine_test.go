package engine

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pdiffagent/pdiffagent/sysio"
	"github.com/pdiffagent/pdiffagent/sysio/sysiotest"
)

const testBS = 4096

// The shared test helpers (sysio/sysiotest), by this package's names.
var (
	randBytes   = sysiotest.RandomBytes
	checkNoLeak = sysiotest.CheckGoroutines
)

type syncCase struct {
	name    string
	src     []byte
	dst     []byte // nil: target missing
	changed int64  // expected blocks_changed; -1: don't check
}

func flip(b []byte, offs ...int) []byte {
	c := append([]byte(nil), b...)
	for _, o := range offs {
		c[o] ^= 0xff
	}
	return c
}

func cases() []syncCase {
	many := randBytes(1, 40*testBS+123)
	return []syncCase{
		{"empty", []byte{}, []byte{}, 0},
		{"empty-to-missing", []byte{}, nil, 0},
		{"one-byte", []byte{7}, []byte{8}, 1},
		{"one-byte-equal", []byte{7}, []byte{7}, 0},
		{"block-1", randBytes(2, testBS-1), randBytes(3, testBS-1), 1},
		{"block", randBytes(4, testBS), randBytes(5, testBS), 1},
		{"block+1", randBytes(6, testBS+1), flip(randBytes(6, testBS+1), testBS), 1},
		{"many-equal", many, many, 0},
		{"many-some-changed", many, flip(many, 0, 5*testBS+9, 17*testBS, 39*testBS+1), 4},
		{"only-last-partial", many, flip(many, len(many)-1), 1},
		{"target-missing", many, nil, 41},
		{"target-smaller", many, many[:10*testBS+5], 31},
		{"target-larger", many, append(append([]byte(nil), many...), randBytes(9, 3*testBS)...), 0},
		{"target-larger-changed", many, append(flip(many, 100), randBytes(9, 3*testBS)...), 1},
		{"all-different", many, randBytes(10, len(many)), 41},
		{"target-empty", many, []byte{}, 41},
	}
}

func writeCase(t *testing.T, c syncCase) (src, dst string) {
	dir := t.TempDir()
	src, dst = filepath.Join(dir, "src"), filepath.Join(dir, "dst")
	if err := os.WriteFile(src, c.src, 0o644); err != nil {
		t.Fatal(err)
	}
	if c.dst != nil {
		if err := os.WriteFile(dst, c.dst, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return src, dst
}

func TestSyncLocalCases(t *testing.T) {
	for _, workers := range []int{1, 3} {
		for _, c := range cases() {
			// Mapped reads (the default) and pread (the fallback).
			for _, rd := range testReads {
				name := fmt.Sprintf("%s/workers=%d/%s", c.name, workers, rd.name)
				t.Run(name, func(t *testing.T) { testSyncLocalCase(t, c, workers, rd.opt) })
			}
		}
	}
}

// testReads are the ways of reading blocks every sync case runs with.
var testReads = []struct {
	name string
	opt  Options
}{
	{"pread", Options{ReadPath: ReadPread}},
	{"mmap", Options{ReadPath: ReadMmap}},
	{"direct", Options{Direct: sysio.DirectOn}},
}

func testSyncLocalCase(t *testing.T, c syncCase, workers int, opt Options) {
	checkNoLeak(t)
	src, dst := writeCase(t, c)
	p := Params{Session: Session{BlockSize: testBS, Workers: workers}}
	st, err := SyncLocal(context.Background(), src, dst, p, opt)
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(dst)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, c.src) {
		t.Fatalf("target differs from source (len %d vs %d)", len(got), len(c.src))
	}
	if c.changed >= 0 && st.BlocksChanged != c.changed {
		t.Errorf("blocks_changed = %d, want %d", st.BlocksChanged, c.changed)
	}
	if !st.Verified {
		t.Errorf("not verified: %+v", st)
	}
	if st.BlocksChanged+st.BlocksConfirmed != st.BlocksTotal {
		t.Errorf("changed %d + confirmed %d != total %d", st.BlocksChanged, st.BlocksConfirmed, st.BlocksTotal)
	}
}

func TestWholeFileAndCompression(t *testing.T) {
	for _, mode := range []string{"whole", "lz4", "whole+lz4"} {
		t.Run(mode, func(t *testing.T) {
			checkNoLeak(t)
			src := append(randBytes(11, 5*testBS), bytes.Repeat([]byte("pdiffagent "), 3000)...) // text compresses
			c := syncCase{src: src, dst: flip(src, 3, 6*testBS, 7*testBS)}
			s, d := writeCase(t, c)
			p := Params{Session: Session{BlockSize: testBS, Workers: 2, WholeFile: mode != "lz4"}}
			if mode != "whole" {
				p.Codec = 1
			}
			st, err := SyncLocal(context.Background(), s, d, p, Options{})
			if err != nil {
				t.Fatal(err)
			}
			got, _ := os.ReadFile(d)
			if !bytes.Equal(got, src) {
				t.Fatal("target differs")
			}
			if p.WholeFile && st.BlocksChanged != st.BlocksTotal {
				t.Errorf("whole file sent %d of %d blocks", st.BlocksChanged, st.BlocksTotal)
			}
			if p.Codec != 0 && st.BytesSent >= st.BytesWritten {
				t.Errorf("lz4 sent %d bytes for %d written", st.BytesSent, st.BytesWritten)
			}
		})
	}
}

// A weak hash that always collides: tier 2 alone must find every change.
// TestForcedWeakCollision makes every weak hash collide: each strong hash
// alone must catch the blocks that differ.
func TestForcedWeakCollision(t *testing.T) {
	for _, h := range []StrongHash{SHA256, BLAKE3, SHA512_256} {
		t.Run(h.String(), func(t *testing.T) {
			checkNoLeak(t)
			src := randBytes(12, 20*testBS)
			c := syncCase{src: src, dst: flip(src, 0, 7*testBS+1, 19*testBS)}
			s, d := writeCase(t, c)
			opt := Options{Weak: func([]byte) uint64 { return 42 }}
			st, err := SyncLocal(context.Background(), s, d, Params{Session: Session{BlockSize: testBS, Workers: 2, Strong: h}}, opt)
			if err != nil {
				t.Fatal(err)
			}
			got, _ := os.ReadFile(d)
			if !bytes.Equal(got, src) {
				t.Fatal("a weak collision left a wrong block")
			}
			if st.WeakCollisions != 3 || st.BlocksChanged != 3 || st.BlocksConfirmed != 17 || !st.Verified {
				t.Errorf("collisions %d, changed %d, confirmed %d, verified %v; want 3, 3, 17, true",
					st.WeakCollisions, st.BlocksChanged, st.BlocksConfirmed, st.Verified)
			}
		})
	}
}

func TestDryRunWritesNothing(t *testing.T) {
	checkNoLeak(t)
	src := randBytes(13, 9*testBS)
	old := flip(src[:5*testBS], 10)
	s, d := writeCase(t, syncCase{src: src, dst: old})
	before, _ := os.Stat(d)
	st, err := SyncLocal(context.Background(), s, d, Params{Session: Session{BlockSize: testBS, Workers: 2, DryRun: true}}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(d)
	after, _ := os.Stat(d)
	if !bytes.Equal(got, old) || !after.ModTime().Equal(before.ModTime()) {
		t.Fatal("dry run changed the target")
	}
	if st.BlocksChanged != 5 || st.BytesWritten != 0 || st.Verified {
		t.Errorf("dry run stats %+v", st)
	}
	if want := 4.0 / 9; st.Similarity < want-1e-9 || st.Similarity > want+1e-9 {
		t.Errorf("similarity %v, want %v", st.Similarity, want)
	}
	// Missing target: nothing created.
	missing := filepath.Join(t.TempDir(), "nope")
	if _, err := SyncLocal(context.Background(), s, missing, Params{Session: Session{BlockSize: testBS, DryRun: true}}, Options{}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(missing); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("dry run created the target")
	}
}

// TestCancelStopsPromptly: cancelled from its own tier-1 hash (the 8th
// block), a sync stops within a few blocks instead of finishing the file:
// each hashing goroutine checks the context before every block, each writer
// has at most its queue left.
func TestCancelStopsPromptly(t *testing.T) {
	checkNoLeak(t)
	const blocks, workers = 64, 2
	src := randBytes(14, blocks*testBS)
	s, d := writeCase(t, syncCase{src: src, dst: randBytes(15, len(src))})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var calls, after atomic.Int64
	// Only hashes begun once cancel has returned count: cancel marks the
	// test's context done before it cancels the engine's contexts derived
	// from it, and a loaded machine may pause it in between for as long
	// as another goroutine takes to hash a whole read-ahead window (32
	// hashes were seen, 10 runs in 400 with two busy loops on 2 cores).
	var cancelled atomic.Bool
	weak := func(b []byte) uint64 {
		if calls.Add(1) == 8 {
			cancel()
			cancelled.Store(true)
		} else if cancelled.Load() {
			after.Add(1)
		}
		return DefaultWeak(b)
	}
	_, err := SyncLocal(ctx, s, d, Params{Session: Session{BlockSize: testBS, Workers: workers}}, Options{Weak: weak})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	// Without the cancel: a hash of every block on both sides and of every
	// block written. With it, one more block per hashing goroutine (two
	// sides per worker) and what each writer had queued, give or take.
	most := int64(workers * (2 + 2*(writeQueue+1)))
	t.Logf("%d tier-1 hashes after the cancel (at most %d allowed, %d without it)", after.Load(), most, 3*blocks-8)
	if after.Load() > most {
		t.Errorf("%d tier-1 hashes after the cancel, want at most %d: the sync went on", after.Load(), most)
	}
}

func TestSourceChangedIsAnError(t *testing.T) {
	checkNoLeak(t)
	src := randBytes(16, 32*testBS)
	s, d := writeCase(t, syncCase{src: src, dst: nil})
	touched := false
	weak := func(b []byte) uint64 {
		if !touched {
			touched = true
			os.Chtimes(s, time.Now(), time.Now().Add(time.Hour))
		}
		return DefaultWeak(b)
	}
	_, err := SyncLocal(context.Background(), s, d, Params{Session: Session{BlockSize: testBS, Workers: 1}}, Options{Weak: weak})
	if !errors.Is(err, ErrSourceChanged) {
		t.Fatalf("err = %v, want ErrSourceChanged", err)
	}
}

// A file truncated beneath a mapped batch makes the hashing fault; the
// sync must fail with a clear error, not crash. The weak-hash hook does the
// truncating right before it touches the mapped block.
func TestTruncatedWhileMapped(t *testing.T) {
	t.Run("source", func(t *testing.T) {
		checkNoLeak(t)
		s, d := writeCase(t, syncCase{src: randBytes(20, 32*testBS), dst: nil})
		var once sync.Once
		weak := func(b []byte) uint64 {
			once.Do(func() { os.Truncate(s, 0) })
			return DefaultWeak(b)
		}
		_, err := SyncLocal(context.Background(), s, d, Params{Session: Session{BlockSize: testBS, Workers: 1}}, Options{Weak: weak, ReadPath: ReadMmap})
		if !errors.Is(err, ErrSourceChanged) || !strings.Contains(err.Error(), "shrank") {
			t.Fatalf("err = %v, want ErrSourceChanged saying the source shrank", err)
		}
	})
	t.Run("target", func(t *testing.T) {
		checkNoLeak(t)
		old := randBytes(22, 32*testBS)
		s, d := writeCase(t, syncCase{src: randBytes(21, 32*testBS), dst: old})
		var once sync.Once
		weak := func(b []byte) uint64 {
			if len(b) > 16 && bytes.Equal(b[:16], old[:16]) { // the receiver, on the target's block 0
				once.Do(func() { os.Truncate(d, 0) })
			}
			return DefaultWeak(b)
		}
		_, err := SyncLocal(context.Background(), s, d, Params{Session: Session{BlockSize: testBS, Workers: 1}}, Options{Weak: weak, ReadPath: ReadMmap})
		if err == nil || !strings.Contains(err.Error(), "shrank") {
			t.Fatalf("err = %v, want an error saying the target shrank", err)
		}
	})
}

func TestParseBlockSize(t *testing.T) {
	for s, want := range map[string]int{"128K": 128 << 10, "1MiB": 1 << 20, "4M": 4 << 20, "4096": 4096, "64m": 64 << 20, "1mb": 1 << 20} {
		if got, err := ParseBlockSize(s); err != nil || got != want {
			t.Errorf("ParseBlockSize(%q) = %d, %v; want %d", s, got, err, want)
		}
	}
	for _, s := range []string{"3000", "2K", "128M", "1G", "", "x", "-4K", "1.5M"} {
		if _, err := ParseBlockSize(s); err == nil {
			t.Errorf("ParseBlockSize(%q) accepted", s)
		}
	}
}
