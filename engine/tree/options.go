package tree

import (
	"slices"
	"sync"
	"sync/atomic"

	"github.com/pdiffagent/pdiffagent/engine"
)

// Filter decides which entries a tree sync leaves alone (engine/tree/filter
// implements rsync's include/exclude rules). rel is the entry's path
// relative to the transfer's root, '/'-separated (with the source's base
// name first when the source was named without a trailing slash); dir says
// whether the entry is a directory. An excluded directory is not entered.
type Filter interface {
	Excluded(rel string, dir bool) bool
}

// Options are a tree sync's settings. The zero value syncs contents,
// directories, symlinks, modes and mtimes, with the engine's defaults.
type Options struct {
	// Session is what every file's engine run shares: block size, hash,
	// codec, DryRun, NoSparse, NoTimes, NoPerms, Owner, WholeFile.
	// Workers is the number of workers of the whole tree (zero: NumCPU):
	// files take them from one scheduler, a small file one, a large file
	// up to all of them (its stripes).
	Session engine.Session
	// Engine are the per-file engine options (read path, limits, the
	// block-hash cache). Records the files make are committed only once
	// the tree is durable (cache.Deferred; doc.go, "Durability"). Its
	// Progress is replaced by Progress.Engine.
	Engine engine.Options
	// Delete removes target entries the source lacks (never outside the
	// target directory); excluded ones are kept unless DeleteExcluded.
	Delete, DeleteExcluded bool
	// ChecksumAll sends every file through the engine, even those whose
	// size and mtime match (the quick check).
	ChecksumAll bool
	// HardLinks preserves hard links between files of the tree (-H).
	HardLinks bool
	// AllowDevices creates device nodes (root only); without it they are
	// skipped with a warning, like FIFOs and sockets always are.
	AllowDevices bool
	// Atomic replaces each changed file only once it is complete
	// (engine.SyncLocalAtomic).
	Atomic bool
	// Filter, when not nil, excludes entries.
	Filter Filter
	// Warn, when not nil, is told each warning and each failed path, one
	// line each, as they happen.
	Warn func(line string)
	// Deleted, when not nil, is told each target path deleted (or, in a
	// dry run, that would be), relative to the target directory.
	Deleted func(rel string)
	// Progress, when not nil, is updated as the sync runs.
	Progress *Progress
}

// MaxFailedListed caps Stats.Failed; FailedCount counts them all.
const MaxFailedListed = 1000

// Failure is a path the sync could not bring up to date, and why.
type Failure struct {
	Path  string `json:"path"`
	Error string `json:"error"`
}

// Stats are a tree sync's totals.
type Stats struct {
	Files         int64     `json:"files"`          // regular files of the source (not excluded)
	FilesChanged  int64     `json:"files_changed"`  // written (or, dry run, that would be): new, or data differed
	FilesVerified int64     `json:"files_verified"` // compared by the engine and found equal, or skipped with equal current records on both sides
	FilesSkipped  int64     `json:"files_skipped"`  // size and mtime equal: skipped after a stat, not verified
	Dirs          int64     `json:"dirs"`
	Symlinks      int64     `json:"symlinks"`
	HardLinks     int64     `json:"hard_links"` // names linked to a file synced under another name (-H)
	Devices       int64     `json:"devices"`
	Specials      int64     `json:"specials_skipped"` // FIFOs, sockets, devices without AllowDevices
	Deleted       int64     `json:"deleted"`          // target entries removed (dry run: would be)
	Excluded      int64     `json:"excluded"`
	BytesTotal    int64     `json:"bytes_total"` // of the source's regular files
	BytesWritten  int64     `json:"bytes_written"`
	BytesSent     int64     `json:"bytes_sent"`
	BytesWire     int64     `json:"bytes_wire"`
	BlocksChanged int64     `json:"blocks_changed"`
	SourceRead    int64     `json:"source_bytes_read"` // bytes the engine read of the source's files
	TargetRead    int64     `json:"target_bytes_read"` // and of the target's (the peer's count, over the network)
	Seconds       float64   `json:"seconds"`
	DryRun        bool      `json:"dry_run"`
	FailedCount   int64     `json:"failed_count"`
	Failed        []Failure `json:"failed"`
}

func (s *Stats) addFile(st engine.Stats) {
	s.BytesWritten += st.BytesWritten
	s.BytesSent += st.BytesSent
	s.BytesWire += st.BytesWire
	s.BlocksChanged += st.BlocksChanged
	s.SourceRead += st.SourceRead
	s.TargetRead += st.TargetRead
}

// Progress is updated while a tree sync runs; another goroutine may read
// it. Engine is the byte progress of the files in flight (the engine's
// own); the counters count files.
type Progress struct {
	Engine    engine.Progress
	Files     atomic.Int64 // regular files found so far
	FilesDone atomic.Int64 // of which finished (synced, skipped or failed)
	Bytes     atomic.Int64 // their bytes
	// BytesSkipped are the bytes of files skipped by the quick check
	// (done without passing through Engine).
	BytesSkipped atomic.Int64
	// BytesDone are the bytes of the files finished (FilesDone's).
	BytesDone atomic.Int64

	mu      sync.Mutex
	current map[string]int64 // large files in flight
}

// currentMin is the size from which a file in flight is listed in Current.
const currentMin = 64 << 20

func (p *Progress) start(rel string, size int64) {
	if p == nil || size < currentMin {
		return
	}
	p.mu.Lock()
	if p.current == nil {
		p.current = make(map[string]int64)
	}
	p.current[rel] = size
	p.mu.Unlock()
}

func (p *Progress) end(rel string, size int64) {
	if p == nil {
		return
	}
	p.FilesDone.Add(1)
	p.BytesDone.Add(size)
	if size < currentMin {
		return
	}
	p.mu.Lock()
	delete(p.current, rel)
	p.mu.Unlock()
}

// Reset zeroes the progress before a tree sync runs again (a retry).
func (p *Progress) Reset() {
	for _, c := range []*atomic.Int64{&p.Engine.Compared, &p.Engine.Written, &p.Engine.Sent, &p.Files, &p.FilesDone,
		&p.Bytes, &p.BytesSkipped, &p.BytesDone} {
		c.Store(0)
	}
	p.mu.Lock()
	clear(p.current)
	p.mu.Unlock()
}

// Done is the bytes of the source's files whose fate is decided, the
// largest of three counts that never exceed it: compared by the sender
// (Engine.Compared, within the files in flight) or skipped; written into
// the files in flight or skipped (where this side only receives: a
// pull's engine counts no comparison on the receiver); and the bytes of
// the files finished. So a pull moves as data arrives, and its unchanged
// data counts as each file ends.
func (p *Progress) Done() int64 {
	skipped := p.BytesSkipped.Load()
	return max(p.Engine.Compared.Load()+skipped, p.Engine.Written.Load()+skipped, p.BytesDone.Load())
}

// Current lists the large files in flight, at most max, by name (so that
// a progress line does not flicker between them).
func (p *Progress) Current(max int) []string {
	p.mu.Lock()
	names := make([]string, 0, len(p.current))
	for n := range p.current {
		names = append(names, n)
	}
	p.mu.Unlock()
	slices.Sort(names)
	return names[:min(len(names), max)]
}
