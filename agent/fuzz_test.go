package agent

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pdiffagent/pdiffagent/wire"
)

// FuzzOpen feeds the server's validation of an Open (path cleaning,
// parameters, and the jail's open beneath a root full of traps) with
// arbitrary fields. Whatever the input: no panic, no file outside the root
// is ever opened, nothing but a regular file is accepted, no error names the
// root, and accepted parameters are within the server's limits.
func FuzzOpen(f *testing.F) {
	root, inside := fuzzRoot(f)
	j, err := newJail(root, false)
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { j.close() })
	for _, p := range []string{"plain", "sub/f", "./sub//f", "../secret", "sub/../../secret", "/etc/passwd",
		"escape", "escape-rel", "sub/up/secret", "inside", "subdir-link/f", "fifo", "sub", ".", "", "a\x00b",
		strings.Repeat("a/", 2100)} {
		f.Add(p, byte(wire.OpPush), uint32(4096), uint16(4), uint32(0), int64(1<<20), int64(0), int64(0))
	}
	f.Add("plain", byte(wire.OpPull), uint32(1<<20), uint16(65535), wire.FlagDryRun|wire.FlagWholeFile, int64(-1), int64(4096), int64(1))
	f.Add("plain", byte(wire.OpPush), uint32(3000), uint16(0), ^uint32(0), int64(1<<62), int64(1<<62), int64(-5))
	const maxWorkers = 16
	f.Fuzz(func(t *testing.T, path string, op byte, blockSize uint32, workers uint16, flags uint32, size, start, end int64) {
		o := &wire.Open{Op: wire.Op(op), Path: path, BlockSize: blockSize, Workers: workers, Strong: 1, Flags: flags,
			Size: size, Start: start, End: end}
		sz := o.Size // as openTarget does: a pull's size is the server's file's
		if o.Op == wire.OpPull {
			sz = 10 << 20
		}
		p, err := bindParams(paramsFromOpen(o, maxWorkers), sz)
		if err == nil && (p.Workers < 1 || p.Workers > maxWorkers || p.BlockSize < wire.MinBlockSize ||
			p.BlockSize > wire.MaxBlockSize || p.Start < 0 || p.End > p.Size || p.Start > p.End) {
			t.Fatalf("accepted %+v from %+v", p, o)
		}
		rel, err := cleanRelPath(path)
		if err != nil {
			checkJailError(t, err, root)
			return
		}
		if strings.HasPrefix(rel, "/") || rel == "" || strings.Contains(rel, "//") || strings.HasSuffix(rel, "/") ||
			strings.Contains("/"+rel+"/", "/../") || strings.Contains("/"+rel+"/", "/./") {
			t.Fatalf("cleanRelPath(%q) = %q", path, rel)
		}
		mode := openRead
		if op%2 == 1 {
			mode = openWrite // never openCreate: the fuzzer would fill the root
		}
		file, key, err := j.open(rel, mode)
		if err != nil {
			checkJailError(t, err, root)
			return
		}
		defer file.Close()
		fi, err := file.Stat()
		if err != nil {
			t.Fatal(err)
		}
		if !fi.Mode().IsRegular() {
			t.Fatalf("open(%q) accepted a %v", rel, fi.Mode().Type())
		}
		if key.path == "" && !inside[key] { // by device and inode (os.Root keys by path, and stays inside)
			t.Fatalf("open(%q) reached a file outside the root", rel)
		}
	})
}

func checkJailError(t *testing.T, err error, root string) {
	t.Helper()
	var ce *codeError
	if !errors.As(err, &ce) {
		t.Fatalf("error without a wire code: %v", err)
	}
	if strings.Contains(err.Error(), root) {
		t.Fatalf("error names the root: %v", err)
	}
}

// fuzzRoot builds a root with files, special files and symbolic links in and out,
// and returns it with the keys of the regular files inside it.
func fuzzRoot(f *testing.F) (string, map[fileKey]bool) {
	base := f.TempDir()
	root := filepath.Join(base, "root")
	for _, d := range []string{root, filepath.Join(root, "sub")} {
		if err := os.Mkdir(d, 0o755); err != nil {
			f.Fatal(err)
		}
	}
	for _, p := range []string{filepath.Join(base, "secret"), filepath.Join(root, "plain"), filepath.Join(root, "sub", "f")} {
		if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
			f.Fatal(err)
		}
	}
	for name, to := range map[string]string{"escape": filepath.Join(base, "secret"), "escape-rel": "../secret",
		"sub/up": "../..", "inside": "sub/f", "subdir-link": "sub", "abs-inside": filepath.Join(root, "plain")} {
		if err := os.Symlink(to, filepath.Join(root, name)); err != nil {
			f.Fatal(err)
		}
	}
	addSpecialFiles(f, root, map[string]string{})
	j, err := newJail(root, false)
	if err != nil {
		f.Fatal(err)
	}
	defer j.close()
	inside := map[fileKey]bool{}
	filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return nil
		}
		rel, _ := filepath.Rel(root, p)
		if file, key, err := j.open(filepath.ToSlash(rel), openRead); err == nil {
			file.Close()
			inside[key] = true
		}
		return nil
	})
	return root, inside
}
