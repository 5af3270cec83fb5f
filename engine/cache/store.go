package cache

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/pdiffagent/pdiffagent/sysio"
)

// DefaultMaxBytes bounds a cache directory unless Options says otherwise:
// 4 GiB holds the records of 100 TiB at 1 MiB blocks, or of 400 GiB at
// 4 KiB blocks.
const DefaultMaxBytes = 4 << 30

// dirMode is the cache directory's mode: records are never for peers.
const dirMode = 0o700

// tmpMaxAge is how old a temporary file left by a crashed process must be
// before eviction removes it.
const tmpMaxAge = time.Hour

// journalMaxAge is how long the journal of a sync that was never rerun is
// kept. Journals are otherwise not evicted: each is removed by the sync
// that completes after it.
const journalMaxAge = 7 * 24 * time.Hour

// DefaultDir is the cache directory beside an agent's identity: the
// "cache" subdirectory of its identity directory (mode 0700 like it).
func DefaultDir(identityDir string) string { return filepath.Join(identityDir, "cache") }

// Options configure a Store. The zero value of each field is its default.
type Options struct {
	// Dir is the cache directory, created with mode 0700 if missing. It must
	// not be inside a tree the agent serves; the caller checks that.
	Dir string
	// MaxBytes bounds the records kept; the least recently used go first.
	// Zero means DefaultMaxBytes.
	MaxBytes int64
	// TrustDevice allows records for block devices: the operator states that
	// nothing but pdiffagent writes them, as a device's ctime does not move
	// on writes. Without it a device is never cached (Off).
	TrustDevice bool
}

// Store is a cache directory. Its methods are safe for concurrent use,
// and several processes may share one directory.
type Store struct {
	dir         string
	max         int64
	trustDevice bool
	mu          sync.Mutex // serialises eviction
}

// Status says what a Lookup found, as reported per side ("cache: hit").
type Status uint8

// Lookup results.
const (
	Off   Status = iota // the cache is off, or cannot be trusted for this file
	Miss                // no usable record
	Stale               // a record whose identity no longer matches (removed)
	Hit                 // a record the file still matches
)

func (s Status) String() string {
	return [...]string{"off", "miss", "stale", "hit"}[min(int(s), 3)]
}

// Open opens (creating it if needed) the cache directory. A directory
// that others may read is made private.
func Open(o Options) (*Store, error) {
	if o.Dir == "" {
		return nil, errors.New("cache: no directory")
	}
	if o.MaxBytes == 0 {
		o.MaxBytes = DefaultMaxBytes
	}
	if o.MaxBytes < 0 {
		return nil, fmt.Errorf("cache: negative size bound %d", o.MaxBytes)
	}
	if err := os.MkdirAll(o.Dir, dirMode); err != nil {
		return nil, fmt.Errorf("cache: %w", err)
	}
	fi, err := os.Stat(o.Dir)
	if err != nil {
		return nil, fmt.Errorf("cache: %w", err)
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("cache: %s is not a directory", o.Dir)
	}
	if fi.Mode().Perm() != dirMode {
		if err := os.Chmod(o.Dir, dirMode); err != nil {
			return nil, fmt.Errorf("cache: %w", err)
		}
	}
	return &Store{dir: o.Dir, max: o.MaxBytes, trustDevice: o.TrustDevice}, nil
}

// Dir returns the cache directory.
func (s *Store) Dir() string { return s.dir }

// key names the record of a file: its device and inode, or a block
// device's number (doc.go says why no path goes in).
func key(id sysio.Identity) string {
	if id.Device {
		return fmt.Sprintf("d-%x", id.Dev)
	}
	return fmt.Sprintf("r-%x-%x", id.Dev, id.Ino)
}

func (s *Store) path(k string) string { return filepath.Join(s.dir, k) }

// trusted reports whether files with identity id may be cached at all.
func (s *Store) trusted(id sysio.Identity) bool {
	if id.Device {
		return s.trustDevice
	}
	return sysio.TrustedFS(id.FSType)
}

// Lookup finds the record of f for blockSize and method and checks that f
// still has the identity recorded (every field), and for a device that the
// sampled blocks still match. Only a Hit returns a Record (the caller
// closes it). A torn or corrupt record is removed and reported as a Miss;
// a record whose identity no longer matches is removed and reported Stale.
func (s *Store) Lookup(f *sysio.File, blockSize int, method uint8) (*Record, Status, error) {
	id, err := f.Identity()
	if err != nil {
		return nil, Off, err
	}
	if !s.trusted(id) {
		return nil, Off, nil
	}
	p := s.path(key(id))
	rf, err := os.Open(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, Miss, nil
	}
	if err != nil {
		return nil, Miss, err
	}
	b := make([]byte, headerSize)
	_, err = io.ReadFull(rf, b)
	var h Header
	if err == nil {
		h, err = decodeHeader(b)
	}
	if err != nil {
		rf.Close()
		os.Remove(p)
		return nil, Miss, nil
	}
	if h.Identity != id {
		rf.Close()
		return nil, Stale, s.removeStale(p)
	}
	if h.BlockSize != blockSize || h.Method != method {
		rf.Close()
		return nil, Miss, nil
	}
	if id.Device {
		fp, err := fingerprint(f, id.Size)
		if err != nil || fp != h.Fingerprint {
			rf.Close()
			if rerr := s.removeStale(p); err == nil {
				err = rerr
			}
			return nil, Stale, err
		}
	}
	now := time.Now()
	os.Chtimes(p, now, now) // least recently used goes first; best effort
	rec := &Record{Header: h, f: rf, path: p}
	rec.Digest, rec.HasDigest = readTrailer(rf, &h)
	return rec, Hit, nil
}

// Invalidate durably removes f's record, whatever its block size: the
// entry is unlinked and the directory synced, so that no crash can bring
// it back. A session calls it before it writes its first block to f.
//
// When f has no record the directory is not synced: that costs an fsync
// per file written, which a tree of small files felt (10 ms a file
// here). That is safe because every other removal of a record is durable
// before it returns: Lookup syncs the directory after it removes a stale
// record (removeStale), and an eviction after it removed any. Otherwise a
// crash could bring back a stale record whose identity f takes again (the
// change that made it stale lost, our own O_DIRECT writes kept) while
// its content is neither. A block device (whose identity does not move
// on writes) is always synced.
func (s *Store) Invalidate(f *sysio.File) error {
	id, err := f.Identity()
	if err != nil {
		return err
	}
	err = os.Remove(s.path(key(id)))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("cache: invalidate: %w", err)
	}
	if err != nil && !id.Device {
		return nil // nothing removed
	}
	return s.syncDir()
}

// removeStale removes the stale record at p and makes that durable
// (Invalidate says why), so that no crash can bring it back.
func (s *Store) removeStale(p string) error {
	if err := os.Remove(p); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil // another process removed it, and synced
		}
		return fmt.Errorf("cache: remove stale record: %w", err)
	}
	return s.syncDir()
}

// testHookSyncDir, when set (tests), is called at each directory sync.
var testHookSyncDir func()

func (s *Store) syncDir() error {
	if testHookSyncDir != nil {
		testHookSyncDir()
	}
	d, err := sysio.Open(s.dir, sysio.ReadOnly, sysio.Options{Direct: sysio.DirectOff})
	if err != nil {
		return fmt.Errorf("cache: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, sysio.ErrNotSupported) {
		return fmt.Errorf("cache: sync directory: %w", err)
	}
	return nil
}

// Create starts the record of f, which will have size bytes when the
// record is committed, for blockSize and method. The caller Puts every
// block's hashes, then commits with Commit or a Group, or calls Abort. It
// returns nil (and no error) when f cannot be cached.
func (s *Store) Create(f *sysio.File, size int64, blockSize int, method uint8) (*Writer, error) {
	id, tf, tmp, err := s.start(f, size, blockSize, "r")
	if tf == nil {
		return nil, err
	}
	k := key(id)
	w := &Writer{store: s, key: k, f: tf, tmp: tmp, pending: map[uint64]*pendingChunk{}}
	w.hdr = Header{BlockSize: blockSize, Method: method, Blocks: BlocksFor(size, blockSize)}
	w.hdr.Identity.Size = size
	rand.Read(w.hdr.nonce[:])
	return w, nil
}

// start takes f's identity and, if f may be cached, creates a private
// temporary file in the cache directory for its record or journal (kind).
func (s *Store) start(f *sysio.File, size int64, blockSize int, kind string) (sysio.Identity, *os.File, string, error) {
	id, err := f.Identity()
	if err != nil || !s.trusted(id) || blockSize <= 0 || size < 0 {
		return id, nil, "", err
	}
	var rnd [8]byte
	rand.Read(rnd[:])
	tmp := s.path(fmt.Sprintf("tmp-%s-%s-%x", kind, key(id), rnd))
	tf, err := os.OpenFile(tmp, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return id, nil, "", fmt.Errorf("cache: %w", err)
	}
	return id, tf, tmp, nil
}

// Commit makes w's record durable and visible: it is Group of one.
func (w *Writer) Commit(f *sysio.File) error {
	g := w.store.Group()
	g.Add(w, f)
	return g.Commit()
}

// evict removes the least recently used records until the directory holds
// at most the bound, never one of keep; temporary files that a crashed
// process left; and journals never resumed.
func (s *Store) evict(keep map[string]bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ents, err := os.ReadDir(s.dir)
	if err != nil {
		return
	}
	type rec struct {
		name string
		size int64
		used time.Time
	}
	var recs []rec
	var total int64
	have := map[string]bool{} // records kept, for their path index entries
	var paths []string
	for _, e := range ents {
		fi, err := e.Info()
		if err != nil || !fi.Mode().IsRegular() {
			continue
		}
		n := e.Name()
		switch {
		case strings.HasPrefix(n, "tmp-"):
			if time.Since(fi.ModTime()) > tmpMaxAge {
				os.Remove(s.path(n))
				continue
			}
		case strings.HasPrefix(n, "j-"):
			if time.Since(fi.ModTime()) > journalMaxAge {
				os.Remove(s.path(n))
				continue
			}
		case strings.HasPrefix(n, "r-") || strings.HasPrefix(n, "d-"):
			have[n] = true
			if !keep[n] {
				recs = append(recs, rec{n, fi.Size(), fi.ModTime()})
			}
		case strings.HasPrefix(n, pathPrefix):
			paths = append(paths, n)
		}
		total += fi.Size()
	}
	sort.Slice(recs, func(i, j int) bool { return recs[i].used.Before(recs[j].used) })
	evicted := false
	for _, r := range recs {
		if total <= s.max {
			break
		}
		if os.Remove(s.path(r.name)) == nil {
			total -= r.size
			delete(have, r.name)
			evicted = true
		}
	}
	if evicted {
		s.syncDir() // best effort: Invalidate counts on removals being durable
	}
	// A path index entry goes with its record (paths.go).
	for _, n := range paths {
		if !have[strings.TrimPrefix(n, pathPrefix)] {
			os.Remove(s.path(n))
		}
	}
}

// RecordPath is where f's record is kept (whether or not there is one).
func (s *Store) RecordPath(f *sysio.File) (string, error) {
	id, err := f.Identity()
	if err != nil {
		return "", err
	}
	return s.path(key(id)), nil
}

// Inspect opens f's record, whatever its block size and whether or not f
// still has the identity it records (current reports whether it does). It
// is for scrubbing (engine.Scrub): the caller re-reads f and compares, and
// never uses the hashes in place of reading. A missing, torn or corrupt
// header is (nil, false, nil).
func (s *Store) Inspect(f *sysio.File) (*Record, bool, error) {
	id, err := f.Identity()
	if err != nil {
		return nil, false, err
	}
	p := s.path(key(id))
	rf, h, err := openHeader(p)
	if rf == nil {
		return nil, false, err
	}
	rec := &Record{Header: h, f: rf, path: p}
	rec.Digest, rec.HasDigest = readTrailer(rf, &h)
	return rec, h.Identity == id, nil
}
