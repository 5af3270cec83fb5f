package tree

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/pdiffagent/pdiffagent/engine"
	"github.com/pdiffagent/pdiffagent/sysio/sysiotest"
)

// hookWeak sets engine.TestHookWeak for the test: at is called with every
// block the tier-1 hash sees (both sides, every file).
func hookWeak(t *testing.T, at func(ctx context.Context, b []byte)) {
	engine.TestHookWeak = func(ctx context.Context, w engine.WeakFunc, _ *engine.Progress) engine.WeakFunc {
		return func(b []byte) uint64 {
			at(ctx, b)
			return w(b)
		}
	}
	t.Cleanup(func() { engine.TestHookWeak = nil })
}

// TestChangedMidSync: a source file that changes while it is synced is
// reported by name; the rest of the tree completes.
func TestChangedMidSync(t *testing.T) {
	src, dst := t.TempDir(), t.TempDir()
	sysiotest.MakeTree(t, src, sysiotest.TreeSpec{Seed: 3, Files: 30, MaxSize: 20 << 10, Dirs: 4, Depth: 2})
	victim := filepath.Join(src, "victim")
	marker := bytes.Repeat([]byte("V"), 4096)
	sysiotest.WriteFile(t, victim, append(marker, marker...))
	var once sync.Once
	hookWeak(t, func(_ context.Context, b []byte) {
		if bytes.Equal(b, marker) {
			once.Do(func() { sysiotest.AppendFile(t, victim, []byte("grown meanwhile")) })
		}
	})
	var warned []string
	var mu sync.Mutex
	opt := testOptions()
	opt.Warn = func(l string) { mu.Lock(); warned = append(warned, l); mu.Unlock() }
	st, err := Sync(context.Background(), src, dst, "", opt)
	if !errors.Is(err, ErrPartial) || st.FailedCount != 1 || len(st.Failed) != 1 || st.Failed[0].Path != "victim" ||
		!strings.Contains(st.Failed[0].Error, "changed during the sync") {
		t.Fatalf("err %v, failed %+v: want victim reported as changed", err, st.Failed)
	}
	if len(warned) != 1 || !strings.HasPrefix(warned[0], "victim: ") {
		t.Errorf("warnings %q: want one for victim", warned)
	}
	engine.TestHookWeak = nil
	sysiotest.TreeEqual(t, src, dst, sysiotest.TreeOptions{Exclude: func(rel string, _ bool) bool { return rel == "victim" }})
	syncTree(t, src, dst, testOptions()) // the rerun syncs it
	sysiotest.TreeEqual(t, src, dst, sysiotest.TreeOptions{})
}

// TestInterruptedConverges: a sync cancelled in the middle of its files
// leaves a partial tree that the rerun completes.
func TestInterruptedConverges(t *testing.T) {
	src, dst := t.TempDir(), t.TempDir()
	sysiotest.MakeTree(t, src, sysiotest.TreeSpec{Seed: 4, Files: 200, MaxSize: 30 << 10, Dirs: 10, Depth: 3,
		Symlinks: 5, HardLinks: 3, Modes: true})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var blocks atomic.Int64
	hookWeak(t, func(_ context.Context, _ []byte) {
		if blocks.Add(1) == 300 {
			cancel()
		}
	})
	st, err := Sync(ctx, src, dst, "", testOptions())
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled sync: %v, want context.Canceled", err)
	}
	if st.FilesChanged == 0 || st.FilesChanged >= 200 {
		t.Logf("cancelled after %d of 200 files", st.FilesChanged)
	}
	engine.TestHookWeak = nil
	if diffs, _ := sysiotest.TreeDiff(src, dst, sysiotest.TreeOptions{}); len(diffs) == 0 {
		t.Fatal("the cancelled sync left an identical tree: the test did not interrupt it")
	}
	syncTree(t, src, dst, testOptions())
	sysiotest.TreeEqual(t, src, dst, sysiotest.TreeOptions{})
}

// TestOnePathFails: a path that cannot be synced (an unreadable source
// file where permissions apply; a non-empty target directory where the
// source has a file, which only --delete replaces) is reported, and the
// rest of the tree completes.
func TestOnePathFails(t *testing.T) {
	src, dst := t.TempDir(), t.TempDir()
	sysiotest.MakeTree(t, src, sysiotest.TreeSpec{Seed: 5, Files: 40, MaxSize: 10 << 10, Dirs: 5, Depth: 2})
	sysiotest.WriteFile(t, filepath.Join(src, "blocked"), []byte("file"))
	os.MkdirAll(filepath.Join(dst, "blocked/inside"), 0o755)
	want := map[string]bool{"blocked": true}
	if os.Geteuid() != 0 {
		sysiotest.WriteFile(t, filepath.Join(src, "secret"), []byte("no"))
		os.Chmod(filepath.Join(src, "secret"), 0)
		want["secret"] = true
	} else if immutable(t, src, dst, "frozen") {
		want["frozen"] = true // root: EPERM from an immutable target file
	}
	st, err := Sync(context.Background(), src, dst, "", testOptions())
	if !errors.Is(err, ErrPartial) || st.FailedCount != int64(len(want)) {
		t.Fatalf("err %v, failed %+v: want %d failures (%v)", err, st.Failed, len(want), want)
	}
	for _, f := range st.Failed {
		if !want[f.Path] {
			t.Errorf("unexpected failure %+v", f)
		}
	}
	skip := func(rel string, _ bool) bool { return want[strings.Split(rel, "/")[0]] }
	sysiotest.TreeEqual(t, src, dst, sysiotest.TreeOptions{Exclude: skip, IgnoreRoot: true})
}

// immutable makes the target file name (a copy of a source file of that
// name, with an older mtime) immutable (chattr +i), so that opening it
// for writing fails with EPERM even for root; false where chattr cannot.
func immutable(t *testing.T, src, dst, name string) bool {
	sysiotest.WriteFile(t, filepath.Join(src, name), []byte("new content"))
	p := filepath.Join(dst, name)
	sysiotest.WriteFile(t, p, []byte("old"))
	if !sysiotest.Immutable(t, p) {
		os.Remove(filepath.Join(src, name))
		return false
	}
	return true
}
