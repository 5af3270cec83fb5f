package cache

import (
	"bufio"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"sort"
	"sync"

	"github.com/pdiffagent/pdiffagent/sysio"
)

// Journal file layout: the nonce (nonceSize bytes), then frames, each a
// frameHead (kind 1, zero 3, payload length 4, crc32c 4 of
// nonce||head[:8]||payload) and its payload:
//
//	'H' header      magic "PDACJRN1", blockSize 4, method 1, size 8
//	'E' entries     first 8, count 4 (1..chunkBlocks), count entries
//	'C' checkpoint  sequence 8, sealed 1, identity (7x8, device 1)
//
// Frames are only appended. Replay reads them in order and stops at the
// first that is torn or fails its checksum; entries count only when a
// checkpoint follows them, and the journal is usable only when its last
// valid frame is a sealed checkpoint (doc.go, "Resume").
const (
	journalMagic  = "PDACJRN1"
	frameHead     = 12
	frameHeader   = 'H'
	frameEntries  = 'E'
	frameCkpt     = 'C'
	maxFrame      = 12 + chunkBlocks*entrySize
	headerPayload = 8 + 4 + 1 + 8
	ckptPayload   = 8 + 1 + 7*8 + 1
)

// journalKey names a file's journal, beside its record.
func journalKey(id sysio.Identity) string { return "j" + key(id)[1:] }

// Journal is the receiver's log of blocks made durable during one
// session: written (or confirmed) blocks are Added after their write
// returned, and every few seconds Checkpoint syncs the target and then the
// journal. Its methods are safe for concurrent use.
type Journal struct {
	mu    sync.Mutex
	f     *os.File
	w     *bufio.Writer
	path  string
	nonce [nonceSize]byte
	seq   uint64
	err   error
}

// StartJournal starts a fresh journal for f, replacing any journal f had
// (Resume reads the old one first and keeps its own descriptor). It
// returns nil (and no error) when f cannot be cached.
func (s *Store) StartJournal(f *sysio.File, size int64, blockSize int, method uint8) (*Journal, error) {
	id, jf, tmp, err := s.start(f, size, blockSize, "j")
	if jf == nil {
		return nil, err
	}
	j := &Journal{f: jf, w: bufio.NewWriterSize(jf, 1<<20), path: s.path(journalKey(id))}
	rand.Read(j.nonce[:])
	j.w.Write(j.nonce[:])
	p := make([]byte, headerPayload)
	copy(p, journalMagic)
	binary.LittleEndian.PutUint32(p[8:], uint32(blockSize))
	p[12] = method
	binary.LittleEndian.PutUint64(p[13:], uint64(size))
	j.frame(frameHeader, p)
	if err := j.flushSync(); err == nil {
		err = os.Rename(tmp, j.path)
	}
	if err == nil {
		err = s.syncDir()
	}
	if err != nil {
		jf.Close()
		os.Remove(tmp)
		return nil, fmt.Errorf("cache: journal: %w", err)
	}
	return j, nil
}

func (j *Journal) frame(kind byte, p []byte) {
	var h [frameHead]byte
	h[0] = kind
	binary.LittleEndian.PutUint32(h[4:], uint32(len(p)))
	binary.LittleEndian.PutUint32(h[8:], chunkCRC(j.nonce[:], h[:8], p))
	j.w.Write(h[:])
	j.w.Write(p)
}

func (j *Journal) flushSync() error {
	if err := j.w.Flush(); err != nil {
		return err
	}
	return j.f.Sync()
}

// Add logs blocks [first, first+len(es)) of the target, whose writes
// have returned. They are trusted by a rerun only once a checkpoint
// (whose target sync covers them) follows and the journal is sealed.
func (j *Journal) Add(first uint64, es []Entry) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.err != nil {
		return j.err
	}
	buf := make([]byte, 12+min(len(es), chunkBlocks)*entrySize)
	for len(es) > 0 {
		n := min(len(es), chunkBlocks)
		b := buf[:12+n*entrySize]
		binary.LittleEndian.PutUint64(b, first)
		binary.LittleEndian.PutUint32(b[8:], uint32(n))
		for i := range n {
			putEntry(b[12+i*entrySize:], &es[i])
		}
		j.frame(frameEntries, b)
		first += uint64(n)
		es = es[n:]
	}
	return nil
}

// Checkpoint makes everything Added so far trustworthy up to this point:
// it syncs the target first (syncTarget), then appends a checkpoint frame
// and syncs the journal. Adds wait meanwhile, so no entry precedes a
// checkpoint whose target sync might not cover it.
func (j *Journal) Checkpoint(syncTarget func() error) error {
	return j.checkpoint(syncTarget, nil)
}

// Seal ends the journal of an interrupted session: it syncs the target,
// takes its identity once the racy window has passed (settle) and
// appends a sealed checkpoint carrying it. Nothing may write the target
// after Seal; a rerun trusts the journal only if the target still has
// that identity.
func (j *Journal) Seal(target *sysio.File) error {
	return j.checkpoint(target.Sync, target)
}

func (j *Journal) checkpoint(syncTarget func() error, seal *sysio.File) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.err != nil {
		return j.err
	}
	if err := syncTarget(); err != nil {
		j.err = err
		return err
	}
	p := make([]byte, ckptPayload)
	j.seq++
	binary.LittleEndian.PutUint64(p, j.seq)
	if seal != nil {
		ids, err := settle([]*sysio.File{seal})
		if err != nil {
			j.err = err
			return err
		}
		p[8] = 1
		putIdentity(p[9:], ids[0])
	}
	j.frame(frameCkpt, p)
	if err := j.flushSync(); err != nil {
		j.err = fmt.Errorf("cache: journal: %w", err)
	}
	if seal != nil && j.err == nil {
		j.err = errors.New("cache: journal sealed")
		return nil
	}
	return j.err
}

// Close closes the journal, leaving the file for a rerun.
func (j *Journal) Close() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.f.Close()
}

// Discard removes the journal: the sync it logged completed (its record,
// if any, replaces it). Not synced: a journal that a crash brings back
// is unsealed or its identity no longer matches.
func (j *Journal) Discard() {
	j.Close()
	os.Remove(j.path)
}

func putIdentity(b []byte, id sysio.Identity) {
	for i, v := range []uint64{id.Dev, id.Ino, uint64(id.Size), uint64(id.Mtime), uint64(id.Ctime), id.FSType} {
		binary.LittleEndian.PutUint64(b[8*i:], v)
	}
	if id.Device {
		b[48] = 1
	}
}

func getIdentity(b []byte) sysio.Identity {
	u := func(i int) uint64 { return binary.LittleEndian.Uint64(b[8*i:]) }
	return sysio.Identity{Dev: u(0), Ino: u(1), Size: int64(u(2)), Mtime: int64(u(3)), Ctime: int64(u(4)), FSType: u(5), Device: b[48] == 1}
}

// Resume is what a sealed journal lets a rerun trust: the hashes of the
// blocks it logged, each durable on the target at its last checkpoint.
type Resume struct {
	f         *os.File
	nonce     [nonceSize]byte
	BlockSize int
	Method    uint8
	Size      int64
	spans     []span // sorted by first; never overlapping
	Blocks    uint64 // blocks covered
}

type span struct {
	first, n uint64
	off      int64 // of the frame's payload
}

// Close closes the journal file.
func (r *Resume) Close() error { return r.f.Close() }

// OpenJournal reads f's journal, if it has one, and returns what it lets
// a rerun trust, or nil: when there is none, when it is torn before a
// sealed checkpoint, when it is for another block size, hash or size, or
// when f's identity is not the one sealed in it.
func (s *Store) OpenJournal(f *sysio.File, size int64, blockSize int, method uint8) (*Resume, error) {
	id, err := f.Identity()
	if err != nil || !s.trusted(id) {
		return nil, err
	}
	jf, err := os.Open(s.path(journalKey(id)))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	r, sealed, err := replay(jf)
	if err != nil || sealed != id || r.BlockSize != blockSize || r.Method != method || r.Size != size {
		jf.Close()
		return nil, nil
	}
	return r, nil
}

// replay scans a journal and returns the spans up to its last valid
// checkpoint and the identity sealed in it; an unsealed journal, or
// frames after the seal, give a zero identity (never equal to a file's).
func replay(jf *os.File) (*Resume, sysio.Identity, error) {
	var none sysio.Identity
	r := &Resume{f: jf}
	br := bufio.NewReaderSize(jf, 1<<20)
	if _, err := io.ReadFull(br, r.nonce[:]); err != nil {
		return nil, none, ErrCorrupt
	}
	var (
		off     = int64(nonceSize)
		pending []span
		sealed  sysio.Identity
		head    [frameHead]byte
		p       = make([]byte, maxFrame)
		first   = true
	)
	for {
		if _, err := io.ReadFull(br, head[:]); err != nil {
			break
		}
		n := int(binary.LittleEndian.Uint32(head[4:]))
		if n > maxFrame {
			break
		}
		if _, err := io.ReadFull(br, p[:n]); err != nil {
			break
		}
		if binary.LittleEndian.Uint32(head[8:]) != chunkCRC(r.nonce[:], head[:8], p[:n]) {
			break
		}
		off += frameHead
		kind := head[0]
		if first != (kind == frameHeader) {
			break
		}
		first = false
		if kind != frameCkpt {
			sealed = none // nothing may follow a seal
		}
		switch {
		case kind == frameHeader && n == headerPayload && string(p[:8]) == journalMagic:
			r.BlockSize = int(binary.LittleEndian.Uint32(p[8:]))
			r.Method = p[12]
			r.Size = int64(binary.LittleEndian.Uint64(p[13:]))
		case kind == frameEntries && n >= 12:
			c := uint64(binary.LittleEndian.Uint32(p[8:]))
			if c == 0 || c > chunkBlocks || n != 12+int(c)*entrySize {
				return finish(r, sealed)
			}
			pending = append(pending, span{binary.LittleEndian.Uint64(p), c, off + 12})
		case kind == frameCkpt && n == ckptPayload:
			r.spans = append(r.spans, pending...)
			pending = pending[:0]
			sealed = none
			if p[8] == 1 {
				sealed = getIdentity(p[9:])
			}
		default:
			return finish(r, sealed)
		}
		off += int64(n)
	}
	return finish(r, sealed)
}

// finish sorts the trusted spans, drops a journal whose spans overlap or
// run past its size, and counts the blocks.
func finish(r *Resume, sealed sysio.Identity) (*Resume, sysio.Identity, error) {
	if r.BlockSize <= 0 {
		return nil, sysio.Identity{}, ErrCorrupt
	}
	sort.Slice(r.spans, func(i, j int) bool { return r.spans[i].first < r.spans[j].first })
	blocks := BlocksFor(r.Size, r.BlockSize)
	var end uint64
	for _, s := range r.spans {
		if s.first < end || s.first+s.n > blocks {
			return nil, sysio.Identity{}, ErrCorrupt
		}
		end = s.first + s.n
		r.Blocks += s.n
	}
	return r, sealed, nil
}

// Read fills dst with the logged hashes of blocks [first,
// first+len(dst)) and sets have[i] for each block the journal covers;
// other entries are left alone. Each frame's checksum is checked again.
func (r *Resume) Read(first uint64, dst []Entry, have []bool) error {
	end := first + uint64(len(dst))
	i := sort.Search(len(r.spans), func(i int) bool { return r.spans[i].first+r.spans[i].n > first })
	buf := make([]byte, frameHead+maxFrame)
	for ; i < len(r.spans) && r.spans[i].first < end; i++ {
		s := r.spans[i]
		b := buf[:frameHead+12+int(s.n)*entrySize]
		if _, err := r.f.ReadAt(b, s.off-12-frameHead); err != nil {
			return fmt.Errorf("%w: journal: %v", ErrCorrupt, err)
		}
		if binary.LittleEndian.Uint32(b[8:]) != chunkCRC(r.nonce[:], b[:8], b[frameHead:]) {
			return fmt.Errorf("%w: journal frame at %d", ErrCorrupt, s.off)
		}
		for blk := max(first, s.first); blk < min(end, s.first+s.n); blk++ {
			getEntry(b[frameHead+12+int(blk-s.first)*entrySize:], &dst[blk-first])
			have[blk-first] = true
		}
	}
	return nil
}
