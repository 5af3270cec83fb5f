package bench

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/pdiffagent/pdiffagent/sysio/sysiotest"
)

// tinyTree is DefaultTreeSpec scaled down to a few hundred KiB, with fewer
// files.
func tinyTree(seed int64) TreeSpec {
	s := DefaultTreeSpec(1.0/4096, seed) // 1 B to 512 B, large files of 128 KiB
	s.Files, s.Dirs = 60, 6
	return s
}

func TestDefaultTreeSpec(t *testing.T) {
	s := DefaultTreeSpec(1, 1)
	if s.Files != 2000 || s.MinSize != 4<<10 || s.MaxSize != 2<<20 || s.Large != 3 || s.LargeSize != 512<<20 ||
		s.SmallChanged != 0.05 || s.LargeChanged != 0.10 {
		t.Fatalf("the issue's tree is not the default: %+v", s)
	}
	if small := DefaultTreeSpec(1e-9, 1); small.MinSize != 1 || small.LargeSize != 1 {
		t.Fatalf("scaled to nothing: %+v", small)
	}
}

// TestTreeDeterministic: the same spec makes the same tree (names, bytes,
// modes), the same seed the same mutation, and another seed another.
func TestTreeDeterministic(t *testing.T) {
	spec := tinyTree(5)
	a, b := t.TempDir(), t.TempDir()
	tfA, err := GenerateTree(a, spec)
	if err != nil {
		t.Fatal(err)
	}
	tfB, err := GenerateTree(b, spec)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(tfA.All(), tfB.All()) || !slices.Equal(tfA.Symlinks, tfB.Symlinks) || tfA.Bytes != tfB.Bytes ||
		len(tfA.Small) != 60 || len(tfA.Large) != 3 || len(tfA.Symlinks) != 20 {
		t.Fatalf("two listings of one spec: %v / %v", tfA, tfB)
	}
	opts := sysiotest.TreeOptions{IgnoreMtimes: true} // generated now
	sysiotest.TreeEqual(t, a, b, opts)

	c := t.TempDir()
	if _, err := GenerateTree(c, tinyTree(6)); err != nil {
		t.Fatal(err)
	}
	if d, _ := sysiotest.TreeDiff(a, c, opts); len(d) == 0 {
		t.Fatal("another seed made the same tree")
	}

	mA, err := MutateTree(a, tfA, spec, 4096, 9)
	if err != nil {
		t.Fatal(err)
	}
	mB, err := MutateTree(b, tfB, spec, 4096, 9)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(mA.Rewritten, mB.Rewritten) || mA.BlocksChanged != mB.BlocksChanged {
		t.Fatalf("one seed, two mutations: %+v / %+v", mA, mB)
	}
	sysiotest.TreeEqual(t, a, b, opts)
	// 5% of 60 small files, 10% of each large file's 32 blocks (rounded).
	if len(mA.Rewritten) != 3 || mA.BlocksChanged != 3*3 {
		t.Fatalf("rewrote %d files and changed %d blocks, want 3 and 9", len(mA.Rewritten), mA.BlocksChanged)
	}
}

// TestMutateTreeChanges: a copy mutated differs from its source in the
// rewritten files (bytes and mtime) and the large files, and nowhere else.
func TestMutateTreeChanges(t *testing.T) {
	spec := tinyTree(7)
	src, dst := t.TempDir(), t.TempDir()
	tf, err := GenerateTree(src, spec)
	if err != nil {
		t.Fatal(err)
	}
	if err := CopyTree(src, dst); err != nil {
		t.Fatal(err)
	}
	sysiotest.TreeEqual(t, src, dst, sysiotest.TreeOptions{})
	m, err := MutateTree(dst, tf, spec, 4096, 1)
	if err != nil {
		t.Fatal(err)
	}
	changed := map[string]bool{}
	for _, rel := range append(m.Rewritten, tf.Large...) {
		changed[filepath.ToSlash(rel)] = true
	}
	diffs, err := sysiotest.TreeDiff(src, dst, sysiotest.TreeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, d := range diffs {
		rel, what, _ := strings.Cut(d, ": ")
		if !changed[rel] {
			t.Errorf("unexpected difference: %s", d)
		}
		if strings.HasPrefix(what, "content") {
			seen[rel] = true
		}
	}
	for rel := range changed {
		if !seen[rel] {
			t.Errorf("%s was mutated but its content did not change: %q", rel, diffs)
		}
	}
}

// TestRunTree runs the case at a tiny scale with a tool that copies the
// tree again, one that is not supported, and rsync when it is installed,
// and renders the table and targets.
func TestRunTree(t *testing.T) {
	copyTool := Tool{Name: "tcp", Sync: func(ctx context.Context, src, dst string) (Outcome, error) {
		if err := os.RemoveAll(dst); err != nil {
			return Outcome{}, err
		}
		return Outcome{}, CopyTree(src, dst)
	}}
	unsupported := Tool{Name: "quic", Sync: func(ctx context.Context, src, dst string) (Outcome, error) {
		return Outcome{}, fmt.Errorf("push of a directory: %w", ErrUnsupported)
	}}
	tools := []Tool{copyTool, unsupported}
	if _, err := exec.LookPath("rsync"); err == nil {
		tools = append(tools, RsyncTreeTool())
	} else {
		t.Log("rsync is not installed: the rsync tree tool is not run")
	}
	rep, err := RunTree(context.Background(), TreeConfig{Dir: t.TempDir(), Spec: tinyTree(3), BlockSize: 4096, Repeat: 2, Tools: tools})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(rep.Skipped["quic"], "not supported") {
		t.Errorf("the unsupported tool was not skipped: %v", rep.Skipped)
	}
	if want := 2 * (len(tools) - 1); len(rep.Results) != want {
		t.Fatalf("%d results, want %d: %+v", len(rep.Results), want, rep.Results)
	}
	for _, r := range rep.Results {
		if !r.Verified || len(r.Runs) != 2 || r.SyncSeconds <= 0 {
			t.Errorf("%s %s: verified %v, runs %v", r.Tool, r.Run, r.Verified, r.Runs)
		}
		if r.Run == TreeChanged && (r.FilesRewritten != 3 || r.BlocksChanged != 9) {
			t.Errorf("%s: %d files rewritten, %d blocks changed", r.Tool, r.FilesRewritten, r.BlocksChanged)
		}
	}
	var out bytes.Buffer
	WriteTree(&out, rep)
	text := out.String()
	for _, want := range []string{"tree: 63 files", "TOOL RUN", "tcp changed", "tcp unchanged", "quic: skipped: push of a directory: not supported"} {
		found := false
		for _, line := range strings.Split(text, "\n") {
			found = found || strings.HasPrefix(strings.Join(strings.Fields(line), " "), want)
		}
		if !found {
			t.Errorf("the tree table lacks %q:\n%s", want, text)
		}
	}
	targets := TreeTargets(rep, nil)
	if len(targets) != 2 || targets[1].Status == NA {
		t.Errorf("targets: %+v", targets)
	}
	if len(rep.Results) == 4 && (targets[0].Status == NA || !strings.Contains(text, "VS RSYNC")) {
		t.Errorf("with rsync, the ratio target is judged: %+v", targets[0])
	}
	t.Logf("\n%s", text)
}
