package bench

import (
	"fmt"
	"io/fs"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/pdiffagent/pdiffagent/sysio"
)

// TreeSpec is the tree case's data (issue 16): a database directory's
// shape, many small files in a few directories beside a few large ones.
type TreeSpec struct {
	Files            int   // small files
	MinSize, MaxSize int64 // their sizes, uniform in [MinSize, MaxSize]
	Dirs             int   // directories the small files are spread over (two levels)
	Large            int   // large files, at the root
	LargeSize        int64
	Symlinks         int // relative, to small files and to directories
	EmptyDirs        int
	// SmallChanged is the fraction of small files MutateTree rewrites;
	// LargeChanged the fraction of each large file's blocks it changes.
	SmallChanged, LargeChanged float64
	Seed                       int64
}

// DefaultTreeSpec is the tree, 2,000 files of 4 KiB to 2 MiB and
// three of 512 MiB, with every size multiplied by scale (a small scale for
// a quick run; sizes stay at least 1 byte), and 20 symlinks and 2 empty
// directories. 5% of the small files are rewritten, 10% of the large
// ones' blocks changed.
func DefaultTreeSpec(scale float64, seed int64) TreeSpec {
	sz := func(n int64) int64 { return max(1, int64(math.Round(float64(n)*scale))) }
	return TreeSpec{Files: 2000, MinSize: sz(4 << 10), MaxSize: sz(2 << 20), Dirs: 24, Large: 3, LargeSize: sz(512 << 20),
		Symlinks: 20, EmptyDirs: 2, SmallChanged: 0.05, LargeChanged: 0.10, Seed: seed}
}

// Bytes is the total size of the tree's files.
func (s TreeSpec) Bytes() int64 {
	return int64(s.Files)*(s.MinSize+s.MaxSize)/2 + int64(s.Large)*s.LargeSize
}

// TreeFiles lists a generated tree's files by path relative to its root.
type TreeFiles struct {
	Small, Large []string
	Symlinks     []string
	Bytes        int64 // the regular files' total size
}

// All is every regular file, small then large.
func (t TreeFiles) All() []string { return append(slices.Clone(t.Small), t.Large...) }

// GenerateTree writes the tree spec describes into dir (created if
// missing; it should be empty). The same spec gives the same names,
// contents and modes; mtimes are when the files were written.
func GenerateTree(dir string, spec TreeSpec) (TreeFiles, error) {
	var tf TreeFiles
	rng := rand.New(rand.NewPCG(uint64(spec.Seed), 0x7472656562656e63)) // "treebenc"
	dirs := []string{""}
	for i := range spec.Dirs {
		parent := ""
		if i >= 4 { // four top directories, the rest one level below them
			parent = dirs[1+rng.IntN(4)]
		}
		dirs = append(dirs, filepath.Join(parent, fmt.Sprintf("d%02d", i)))
	}
	for _, d := range dirs {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			return tf, err
		}
	}
	var buf []byte
	for i := range spec.Files {
		d := ""
		if len(dirs) > 1 {
			d = dirs[1+rng.IntN(len(dirs)-1)]
		}
		rel := filepath.Join(d, fmt.Sprintf("f%05d.dat", i))
		size := spec.MinSize + rng.Int64N(max(spec.MaxSize-spec.MinSize, 0)+1)
		buf = slices.Grow(buf[:0], int(size))[:size]
		fillRandom(buf, spec.Seed, int64(i)+1<<32)
		mode := os.FileMode(0o644)
		if i%10 == 0 {
			mode = 0o600
		}
		if err := writeFileMode(filepath.Join(dir, rel), buf, mode); err != nil {
			return tf, err
		}
		tf.Small = append(tf.Small, rel)
		tf.Bytes += size
	}
	for i := range spec.Large {
		rel := fmt.Sprintf("large%d.img", i)
		if err := GenerateRandom(filepath.Join(dir, rel), spec.LargeSize, spec.Seed+int64(i)+1); err != nil {
			return tf, err
		}
		tf.Large = append(tf.Large, rel)
		tf.Bytes += spec.LargeSize
	}
	for i := range spec.Symlinks {
		from := dirs[rng.IntN(len(dirs))]
		to := dirs[rng.IntN(len(dirs))]
		if i%2 == 0 && len(tf.Small) > 0 {
			to = tf.Small[rng.IntN(len(tf.Small))]
		}
		target, err := filepath.Rel(filepath.Join(dir, from), filepath.Join(dir, to))
		if err != nil {
			return tf, err
		}
		rel := filepath.Join(from, fmt.Sprintf("s%03d.lnk", i))
		if err := os.Symlink(target, filepath.Join(dir, rel)); err != nil {
			return tf, err
		}
		tf.Symlinks = append(tf.Symlinks, rel)
	}
	for i := range spec.EmptyDirs {
		if err := os.Mkdir(filepath.Join(dir, dirs[rng.IntN(len(dirs))], fmt.Sprintf("empty%d", i)), 0o750); err != nil {
			return tf, err
		}
	}
	return tf, nil
}

// writeFileMode writes b to path with exactly mode (whatever the umask).
func writeFileMode(path string, b []byte, mode os.FileMode) error {
	if err := os.WriteFile(path, b, mode); err != nil {
		return err
	}
	return os.Chmod(path, mode)
}

// TreeMutation is what MutateTree changed.
type TreeMutation struct {
	Rewritten     []string // small files given new contents
	BlocksChanged int64    // blocks of the large files
	Bytes         int64    // the rewritten files' size plus the changed blocks'
}

// MutateTree changes the tree at dir (GenerateTree's files tf) as the tree
// case does between two syncs: spec.SmallChanged of the small files
// rewritten with new contents of the same size, and spec.LargeChanged of
// each large file's blocks changed (Random: a few bytes each); every file
// changed gets the mtime of a fixed instant long past, so no quick check
// can take it for the copy's. The same seed gives the same change.
func MutateTree(dir string, tf TreeFiles, spec TreeSpec, blockSize int, seed int64) (TreeMutation, error) {
	var m TreeMutation
	rng := rand.New(rand.NewPCG(uint64(seed), 0x6d7574617465)) // "mutate"
	n := int64(math.Round(spec.SmallChanged * float64(len(tf.Small))))
	if spec.SmallChanged > 0 {
		n = max(n, 1)
	}
	stamp := time.Date(2001, 2, 3, 4, 5, 6, 7, time.UTC)
	for _, i := range pickDistinct(rng, int64(len(tf.Small)), n) {
		p := filepath.Join(dir, tf.Small[i])
		fi, err := os.Stat(p)
		if err != nil {
			return m, err
		}
		b := make([]byte, fi.Size())
		fillRandom(b, seed, i+1<<40)
		if err := writeFileMode(p, b, fi.Mode().Perm()); err != nil {
			return m, err
		}
		if err := os.Chtimes(p, stamp, stamp); err != nil {
			return m, err
		}
		m.Rewritten = append(m.Rewritten, tf.Small[i])
		m.Bytes += fi.Size()
	}
	for i, rel := range tf.Large {
		p := filepath.Join(dir, rel)
		changed, err := Mutate(p, blockSize, spec.LargeChanged, Random, seed+int64(i)+1)
		if err != nil {
			return m, err
		}
		// Written now, a large file's mtime may share its second with the
		// copy's (made a moment before on a fast machine), which rsync's
		// quick check, to the second, takes for unchanged.
		if err := os.Chtimes(p, stamp, stamp); err != nil {
			return m, err
		}
		m.BlocksChanged += changed
		m.Bytes += changed * int64(blockSize)
	}
	return m, nil
}

// CopyTree copies the directories, regular files and symlinks of src into
// dst (created if missing) with their modes and mtimes (symlinks' own),
// directories' last.
func CopyTree(src, dst string) error {
	var dirs []string
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		out := filepath.Join(dst, rel)
		switch {
		case d.IsDir():
			dirs = append(dirs, rel)
			return os.MkdirAll(out, 0o755)
		case d.Type() == fs.ModeSymlink:
			return copySymlink(p, out)
		case !d.Type().IsRegular():
			return fmt.Errorf("bench: %s: only directories, regular files and symlinks are copied", p)
		}
		if err := CopyFile(p, out); err != nil {
			return err
		}
		return copyMeta(p, out)
	})
	if err != nil {
		return err
	}
	for _, rel := range slices.Backward(dirs) { // children before parents
		if err := copyMeta(filepath.Join(src, rel), filepath.Join(dst, rel)); err != nil {
			return err
		}
	}
	return nil
}

// copySymlink makes dst a symlink with src's target and mtime.
func copySymlink(src, dst string) error {
	target, err := os.Readlink(src)
	if err != nil {
		return err
	}
	fi, err := os.Lstat(src)
	if err != nil {
		return err
	}
	if err := os.Symlink(target, dst); err != nil {
		return err
	}
	return sysio.Lutimes(dst, fi.ModTime())
}

// copyMeta gives dst the mode and mtime of src.
func copyMeta(src, dst string) error {
	fi, err := os.Stat(src)
	if err != nil {
		return err
	}
	if err := os.Chmod(dst, fi.Mode().Perm()); err != nil {
		return err
	}
	return os.Chtimes(dst, fi.ModTime(), fi.ModTime())
}
