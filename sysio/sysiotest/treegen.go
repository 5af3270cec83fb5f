package sysiotest

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// TreeSpec describes a tree for MakeTree; the same spec makes the same
// tree (names, contents, modes, mtimes), whatever the machine.
type TreeSpec struct {
	Seed  uint64
	Files int // regular files, each in a random directory
	// File sizes are uniform in [MinSize, MaxSize] (MaxSize below MinSize
	// means MinSize).
	MinSize, MaxSize int64
	// Dirs directories besides the root, none deeper than Depth; a chain
	// of Depth directories is made first (so Dirs is at least Depth).
	Dirs, Depth int
	EmptyDirs   int // more directories, left empty
	Symlinks    int // relative: to files, to directories, one in 4 dangling
	HardLinks   int // more names for files already made, anywhere in the tree
	// Sparse files of max(MaxSize, 1 MiB): 4 KiB of data at each end, a
	// hole between.
	Sparse int
	// Modes varies permissions (files 0600 to 0755, directories 0700 to
	// 0755); otherwise files are 0644 and directories 0755 (less the umask).
	Modes bool
	// OddNames adds files named with a space, a newline, invalid UTF-8, a
	// leading dash and 255 bytes, and a directory with a space.
	OddNames bool
}

// Tree lists what MakeTree made, by path relative to the root ("/"-separated).
type Tree struct {
	Files     []string // regular files, sparse ones and extra hard-link names included
	Dirs      []string // directories (not the root)
	Symlinks  []string
	HardLinks []string // the extra names, each sharing the inode of a file in Files
	Sparse    []string
}

// treeEpoch is where generated mtimes start: well in the past, so a tool
// that leaves "now" is caught.
var treeEpoch = time.Date(2021, 3, 4, 5, 6, 7, 0, time.UTC)

// MakeTree makes the tree spec describes in dir (which must exist), or
// fails the test. Every entry gets an mtime of its own with nanoseconds,
// directories (dir itself too) after their contents, symlinks their own.
func MakeTree(t testing.TB, dir string, spec TreeSpec) *Tree {
	t.Helper()
	tr, err := makeTree(dir, spec)
	if err != nil {
		t.Fatalf("MakeTree: %v", err)
	}
	return tr
}

type genDir struct {
	rel   string
	depth int
}

func makeTree(root string, spec TreeSpec) (*Tree, error) {
	g := &treeGen{root: root, spec: spec, rng: rand.New(rand.NewPCG(spec.Seed, spec.Seed^0x9e3779b97f4a7c15)),
		tree: &Tree{}}
	dirs := []genDir{{rel: "", depth: 0}}
	for i := range spec.Depth { // the deep chain
		dirs = append(dirs, genDir{rel: path.Join(dirs[len(dirs)-1].rel, fmt.Sprintf("deep%02d", i+1)), depth: i + 1})
	}
	limit := max(spec.Depth, 1)
	for i := len(dirs) - 1; i < spec.Dirs; i++ {
		parent := g.pick(dirs, func(d genDir) bool { return d.depth < limit })
		name := fmt.Sprintf("dir%04d", i)
		if spec.OddNames && i == spec.Dirs-1 {
			name = "odd dir"
		}
		dirs = append(dirs, genDir{rel: path.Join(parent.rel, name), depth: parent.depth + 1})
	}
	for _, d := range dirs[1:] {
		if err := g.mkdir(d.rel); err != nil {
			return nil, err
		}
	}
	names := fileNames(spec)
	for i, name := range names {
		size := spec.MinSize
		if spec.MaxSize > spec.MinSize {
			size += g.rng.Int64N(spec.MaxSize - spec.MinSize + 1)
		}
		rel := path.Join(g.pick(dirs, nil).rel, name)
		if err := g.file(rel, RandomBytes(spec.Seed<<20+uint64(i), int(size))); err != nil {
			return nil, err
		}
	}
	for i := range spec.Sparse {
		if err := g.sparse(path.Join(g.pick(dirs, nil).rel, fmt.Sprintf("sparse%02d.img", i)), max(spec.MaxSize, 1<<20)); err != nil {
			return nil, err
		}
	}
	if err := g.links(dirs); err != nil {
		return nil, err
	}
	for i := range spec.EmptyDirs {
		d := genDir{rel: path.Join(g.pick(dirs, nil).rel, fmt.Sprintf("empty%02d", i))}
		d.depth = strings.Count(d.rel, "/") + 1
		if err := g.mkdir(d.rel); err != nil {
			return nil, err
		}
		dirs = append(dirs, d)
	}
	// Directories' mtimes last, deepest first: making an entry moves its
	// parent's.
	slices.SortStableFunc(dirs, func(a, b genDir) int { return b.depth - a.depth })
	for _, d := range dirs {
		if err := os.Chtimes(g.abs(d.rel), g.mtime(), g.mtime()); err != nil {
			return nil, err
		}
	}
	return g.tree, nil
}

type treeGen struct {
	root string
	spec TreeSpec
	rng  *rand.Rand
	tree *Tree
}

func (g *treeGen) abs(rel string) string { return filepath.Join(g.root, filepath.FromSlash(rel)) }

// pick is a random directory that ok accepts (any when ok is nil).
func (g *treeGen) pick(dirs []genDir, ok func(genDir) bool) genDir {
	for {
		d := dirs[g.rng.IntN(len(dirs))]
		if ok == nil || ok(d) {
			return d
		}
	}
}

// mtime is a new time after treeEpoch, within about a year, with nanoseconds.
func (g *treeGen) mtime() time.Time {
	return treeEpoch.Add(time.Duration(g.rng.Int64N(365 * 24 * int64(time.Hour))))
}

func (g *treeGen) mode(modes []os.FileMode) os.FileMode {
	return modes[g.rng.IntN(len(modes))]
}

func (g *treeGen) mkdir(rel string) error {
	if err := os.Mkdir(g.abs(rel), 0o755); err != nil {
		return err
	}
	g.tree.Dirs = append(g.tree.Dirs, rel)
	if g.spec.Modes {
		return os.Chmod(g.abs(rel), g.mode([]os.FileMode{0o700, 0o750, 0o755}))
	}
	return nil
}

func (g *treeGen) file(rel string, b []byte) error {
	p := g.abs(rel)
	if err := os.WriteFile(p, b, 0o644); err != nil {
		return err
	}
	g.tree.Files = append(g.tree.Files, rel)
	if g.spec.Modes {
		if err := os.Chmod(p, g.mode([]os.FileMode{0o600, 0o640, 0o644, 0o444, 0o755})); err != nil {
			return err
		}
	}
	return os.Chtimes(p, g.mtime(), g.mtime())
}

func (g *treeGen) sparse(rel string, size int64) error {
	p := g.abs(rel)
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	data := RandomBytes(g.rng.Uint64(), 4096)
	_, err = f.WriteAt(data, 0)
	if err == nil {
		_, err = f.WriteAt(data, size-4096)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	g.tree.Files = append(g.tree.Files, rel)
	g.tree.Sparse = append(g.tree.Sparse, rel)
	return os.Chtimes(p, g.mtime(), g.mtime())
}

// links adds the hard links, then the symlinks.
func (g *treeGen) links(dirs []genDir) error {
	plain := slices.DeleteFunc(slices.Clone(g.tree.Files), func(f string) bool { return slices.Contains(g.tree.Sparse, f) })
	for i := range g.spec.HardLinks {
		if len(plain) == 0 {
			return fmt.Errorf("%d hard links asked for, but no files to link to", g.spec.HardLinks)
		}
		target := plain[g.rng.IntN(len(plain))]
		rel := path.Join(g.pick(dirs, nil).rel, fmt.Sprintf("link%03d", i))
		if err := os.Link(g.abs(target), g.abs(rel)); err != nil {
			return err
		}
		g.tree.Files = append(g.tree.Files, rel)
		g.tree.HardLinks = append(g.tree.HardLinks, rel)
	}
	for i := range g.spec.Symlinks {
		from := g.pick(dirs, nil).rel
		var to string
		switch {
		case i%4 == 3 || (i%4 == 0 && len(plain) == 0):
			to = fmt.Sprintf("missing%03d", i) // dangling
		case i%4 == 0:
			to = plain[g.rng.IntN(len(plain))]
		default:
			to = g.pick(dirs, nil).rel
		}
		target, err := filepath.Rel(g.abs(from), g.abs(to))
		if err != nil {
			return err
		}
		rel := path.Join(from, fmt.Sprintf("sym%03d", i))
		if err := os.Symlink(target, g.abs(rel)); err != nil {
			return err
		}
		if err := lchtimes(g.abs(rel), g.mtime()); err != nil {
			return err
		}
		g.tree.Symlinks = append(g.tree.Symlinks, rel)
	}
	return nil
}

// fileNames are the regular files' names: the odd ones first, if asked.
func fileNames(spec TreeSpec) []string {
	var names []string
	if spec.OddNames {
		names = append(names, "with space", "new\nline", "bad\xffutf8", "-dash", strings.Repeat("n", 255))
	}
	for i := len(names); i < spec.Files; i++ {
		names = append(names, fmt.Sprintf("f%05d.dat", i))
	}
	return names[:max(spec.Files, 0)]
}
