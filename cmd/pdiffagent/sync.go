package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"

	"github.com/pdiffagent/pdiffagent/agent"
	"github.com/pdiffagent/pdiffagent/engine"
	"github.com/spf13/cobra"
)

func newSyncCommand(opts *syncOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "sync [flags] SRC DST",
		Short: "Bring a local file, block device or directory tree up to date with another",
		Long: `sync makes DST (a file or block device) identical to SRC, both local. Both
are hashed in parallel stripes; only blocks whose hashes differ are written,
and every block kept is sha256-confirmed. Without a block-hash cache
(--no-cache, --cache-dir off), whose records need the hashes, the two
copies' bytes are compared instead, block by block on every worker: exact,
and several times cheaper than hashing both (not with --bwlimit); a block
of which at most half differs is written in its 4 KiB sub-blocks that do.
A missing DST is created, a larger regular-file DST is truncated.

When SRC is a directory, sync copies the tree, with rsync's trailing-slash
rule: "SRC/" syncs the contents of SRC into DST; "SRC" syncs the directory
itself into DST/SRC (DST is created if missing). Files run side by side on
the -c workers, a large one striped across all of them. A tree holds
regular files (delta, holes), directories (their modes and mtimes set after
their contents), symlinks (copied as links, never followed), hard links
with -H, modes, mtimes, owners with --owner, empty directories; devices
only with --allow-devices; FIFOs and sockets are skipped with a warning.
Extended attributes and ACLs are not copied. A file whose size and mtime
equal the target's is skipped after a stat (--checksum-all compares it).
Durability is batched: the written files and changed directories are
fsynced together at the end (or the filesystem with one syncfs); a crash
before that leaves a partial tree that a rerun repairs. A path that fails
(unreadable, changed during the sync) is reported by name and the rest
completes, with exit status 1 and the list in --json's "failed".

Exit status: 0 when DST is identical to SRC (after the sync, or already, with
--dry-run); 3 when a dry run found differences; 1 on error; 2 on a usage
error; 75 when the source changed during the sync (worth retrying); 130 when
interrupted.`,
		Example: `  pdiffagent sync -v disk.img /backup/disk.img
  pdiffagent sync -H --delete --exclude '*.tmp' /var/lib/pgsql/data/ /backup/pgdata
  pdiffagent sync -n --json -b 128K vm.qcow2 /dev/vg0/vm`,
		Args: exactArgs(2, "SRC and DST"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runSync(cmd.Context(), opts, args[0], args[1])
		},
	}
	opts.AddFlags(cmd.Flags())
	opts.treeOptions.AddFlags(cmd.Flags())
	return cmd
}

func runSync(ctx context.Context, opts *syncOptions, src, dst string) error {
	if fi, err := os.Stat(src); err == nil && fi.IsDir() {
		return runSyncTree(ctx, opts, src, dst)
	}
	p, err := opts.params()
	if err != nil {
		return err
	}
	size, _, err := fileSize(src)
	if err != nil {
		return err
	}
	note, err := sizeNote(dst, size)
	if err != nil {
		return err
	}
	if err := opts.checkAtomicTarget(dst); err != nil {
		return err
	}
	if opts.Verbose > 0 {
		bs := int64(p.BlockSize)
		fmt.Fprintf(os.Stderr, "sync %s -> %s: %s in %d blocks of %s, %d workers, %s\n",
			src, dst, formatBytes(size), (size+bs-1)/bs, formatSize(bs), p.Workers, p.Strong)
	}
	rep := opts.newReporter(size)
	syncLocal := engine.SyncLocal
	if opts.Atomic {
		syncLocal, rep.atomic = engine.SyncLocalAtomic, !opts.DryRun
	}
	store, err := opts.cacheOptions.open(agent.DefaultIdentityDir())
	if err != nil {
		return err
	}
	eopt := engine.Options{Progress: rep.Progress(), Cache: store, CompareLocal: true}
	opts.readOptions.apply(&eopt)
	opts.limitOptions.apply(&eopt, p.BlockSize)
	var st engine.Stats
	err = opts.retryOptions.do(ctx, os.Stderr, rep.reset, func() (err error) {
		st, err = syncLocal(ctx, src, dst, p, eopt)
		return err
	})
	return rep.finish(ctx, result{Stats: st, sizeNote: note}, opts.atomicHint(err))
}

// fileSize is the size of a file or block device (stat says 0 for a
// device, so seek to its end).
func fileSize(path string) (size int64, device bool, err error) {
	if err := checkLocalKind(path); err != nil {
		return 0, false, err
	}
	f, err := os.Open(path)
	if err != nil {
		return 0, false, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return 0, false, err
	}
	size, err = f.Seek(0, io.SeekEnd)
	return size, fi.Mode()&fs.ModeDevice != 0, err
}

// sizeNote says how dst's size differs from the source's before the sync,
// or "" when it does not (or dst is a device at least as large: a device
// keeps its tail).
func sizeNote(dst string, srcSize int64) (string, error) {
	size, device, err := fileSize(dst)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return "the target did not exist", nil
	case err != nil:
		return "", err
	case size == srcSize, device && size > srcSize:
		return "", nil
	}
	return fmt.Sprintf("the target was %s, the source is %s", formatBytes(size), formatBytes(srcSize)), nil
}

// checkLocalKind refuses, before anything is opened or created, what a
// sync cannot use as its source or target: only regular files and block
// devices can be synced. (A FIFO would hang the open, a character device
// such as /dev/zero reads as empty, and a directory left a junk target.)
// A missing path is the caller's to judge (fs.ErrNotExist).
func checkLocalKind(path string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	m := fi.Mode()
	what := ""
	switch {
	case m.IsRegular(), m&fs.ModeDevice != 0 && m&fs.ModeCharDevice == 0:
		return nil
	case m.IsDir():
		what = "a directory (sync, push and pull copy trees)"
	case m&fs.ModeNamedPipe != 0:
		what = "a FIFO"
	case m&fs.ModeCharDevice != 0:
		what = "a character device"
	case m&fs.ModeSocket != 0:
		what = "a socket"
	default:
		what = "not a regular file"
	}
	return fmt.Errorf("%s is %s: only regular files and block devices can be synced", path, what)
}
