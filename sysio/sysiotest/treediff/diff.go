package treediff

import (
	"bytes"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// Options says what Diff compares beyond the set of entries, their
// types, the bytes of regular files and the targets of symlinks, which it
// always compares. The zero value is strict: modes, mtimes (to the
// nanosecond, of directories and of symlinks themselves too) and hard-link
// groups are compared, owners are not.
type Options struct {
	IgnoreModes     bool // permission, setuid, setgid and sticky bits
	IgnoreMtimes    bool
	IgnoreHardLinks bool // which names share an inode
	IgnoreRoot      bool // the roots' own mode and mtime
	Owners          bool // also uid and gid
	// Exclude, if set, leaves out the entries it accepts on both sides
	// (and what is under an excluded directory): filter.Filter.Excluded
	// fits. rel is "/"-separated and relative to the root.
	Exclude func(rel string, isDir bool) bool
}

// Diff walks the trees at a and b (symlinks are not followed) and
// returns their differences, one line each ("x/y: mode 0644, want 0600"
// reads "in b, want what a has"), sorted by path; none when they are
// equal. An error is a tree it could not read.
func Diff(a, b string, opts Options) ([]string, error) {
	ta, err := scanTree(a, opts.Exclude)
	if err != nil {
		return nil, err
	}
	tb, err := scanTree(b, opts.Exclude)
	if err != nil {
		return nil, err
	}
	var diffs []string
	add := func(rel, format string, args ...any) {
		diffs = append(diffs, rel+": "+fmt.Sprintf(format, args...))
	}
	groupsA, groupsB := linkGroups(ta), linkGroups(tb)
	bufA, bufB := make([]byte, 1<<20), make([]byte, 1<<20)
	for _, rel := range unionKeys(ta, tb) {
		ea, inA := ta[rel]
		eb, inB := tb[rel]
		switch {
		case !inB:
			add(rel, "missing (a %s)", ea.kind())
			continue
		case !inA:
			add(rel, "extra (a %s)", eb.kind())
			continue
		case ea.mode.Type() != eb.mode.Type():
			add(rel, "a %s, want a %s", eb.kind(), ea.kind())
			continue
		}
		root := rel == "."
		if !opts.IgnoreModes && !(root && opts.IgnoreRoot) && ea.mode != eb.mode && ea.mode.Type() != fs.ModeSymlink {
			add(rel, "mode %s, want %s", eb.mode, ea.mode)
		}
		if !opts.IgnoreMtimes && !(root && opts.IgnoreRoot) && ea.mtime != eb.mtime {
			add(rel, "mtime %d, want %d (ns)", eb.mtime, ea.mtime)
		}
		if opts.Owners && (ea.uid != eb.uid || ea.gid != eb.gid) {
			add(rel, "owner %d:%d, want %d:%d", eb.uid, eb.gid, ea.uid, ea.gid)
		}
		switch {
		case ea.mode.Type() == fs.ModeSymlink && ea.target != eb.target:
			add(rel, "symlink to %q, want %q", eb.target, ea.target)
		case ea.mode.IsRegular():
			if ea.size != eb.size {
				add(rel, "size %d, want %d", eb.size, ea.size)
			} else if same, off, err := sameBytes(filepath.Join(a, rel), filepath.Join(b, rel), bufA, bufB); err != nil {
				return nil, err
			} else if !same {
				add(rel, "content differs from byte %d", off)
			}
			if ga, gb := groupsA[rel], groupsB[rel]; !opts.IgnoreHardLinks && ga != gb && rel == firstOf(ga, gb) {
				add(rel, "hard links [%s], want [%s]", gb, ga)
			}
		}
	}
	return diffs, nil
}

// treeEntry is what Diff compares of one entry.
type treeEntry struct {
	mode     fs.FileMode // type and permission bits
	mtime    int64       // ns since the epoch
	size     int64
	target   string // symlinks
	uid, gid uint32
	dev, ino uint64 // 0: unknown
	nlink    uint64
}

func (e treeEntry) kind() string {
	switch e.mode.Type() {
	case 0:
		return "file"
	case fs.ModeDir:
		return "directory"
	case fs.ModeSymlink:
		return "symlink"
	}
	return "special file (" + e.mode.Type().String() + ")"
}

// scanTree lstats every entry under root (root itself as ".").
func scanTree(root string, exclude func(string, bool) bool) (map[string]treeEntry, error) {
	out := map[string]treeEntry{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		if rel != "." && exclude != nil && exclude(rel, d.IsDir()) {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		e := treeEntry{mode: fi.Mode() & (fs.ModeType | fs.ModePerm | fs.ModeSetuid | fs.ModeSetgid | fs.ModeSticky),
			mtime: fi.ModTime().UnixNano(), size: fi.Size()}
		e.uid, e.gid, e.dev, e.ino, e.nlink = StatIDs(fi)
		if e.mode.Type() == fs.ModeSymlink {
			if e.target, err = os.Readlink(p); err != nil {
				return err
			}
		}
		out[rel] = e
		return nil
	})
	return out, err
}

// linkGroups maps each multiply-linked regular file to the names in the
// tree that share its inode, sorted and joined ("a, b/c").
func linkGroups(tree map[string]treeEntry) map[string]string {
	type key struct{ dev, ino uint64 }
	names := map[key][]string{}
	for rel, e := range tree {
		if e.mode.IsRegular() && e.nlink > 1 && e.ino != 0 {
			k := key{e.dev, e.ino}
			names[k] = append(names[k], rel)
		}
	}
	out := map[string]string{}
	for _, ns := range names {
		slices.Sort(ns)
		g := strings.Join(ns, ", ")
		for _, n := range ns {
			out[n] = g
		}
	}
	return out
}

// firstOf is the first name of either group, so that a group that differs
// is reported once.
func firstOf(ga, gb string) string {
	fa, _, _ := strings.Cut(ga, ", ")
	fb, _, _ := strings.Cut(gb, ", ")
	switch {
	case fa == "":
		return fb
	case fb == "":
		return fa
	}
	return min(fa, fb)
}

func unionKeys(a, b map[string]treeEntry) []string {
	keys := make([]string, 0, len(a))
	for k := range a {
		keys = append(keys, k)
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	return keys
}

// sameBytes compares two files of the same size through the buffers
// ba and bb, returning the offset of the first byte that differs.
func sameBytes(a, b string, ba, bb []byte) (bool, int64, error) {
	fa, err := os.Open(a)
	if err != nil {
		return false, 0, err
	}
	defer fa.Close()
	fb, err := os.Open(b)
	if err != nil {
		return false, 0, err
	}
	defer fb.Close()
	var off int64
	for {
		na, errA := io.ReadFull(fa, ba)
		nb, errB := io.ReadFull(fb, bb)
		if na != nb || !bytes.Equal(ba[:na], bb[:nb]) {
			i := 0
			for i < min(na, nb) && ba[i] == bb[i] {
				i++
			}
			return false, off + int64(i), nil
		}
		off += int64(na)
		if errA == io.EOF || errA == io.ErrUnexpectedEOF {
			return errB == io.EOF || errB == io.ErrUnexpectedEOF, off, nil
		}
		if errA != nil {
			return false, 0, errA
		}
		if errB != nil {
			return false, 0, errB
		}
	}
}
