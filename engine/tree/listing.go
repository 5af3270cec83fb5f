package tree

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// Listing is a directory's entries, sorted by name, one at a time: what
// Target.List and Source.List return, so that no side holds a large
// directory whole. Next's false ends it, Err says whether early; Close
// releases it, at any point.
type Listing interface {
	Next() (Dirent, bool)
	Err() error
	Close() error
}

// emptyListing is a missing directory's.
type emptyListing struct{}

func (emptyListing) Next() (Dirent, bool) { return Dirent{}, false }
func (emptyListing) Err() error           { return nil }
func (emptyListing) Close() error         { return nil }

// localListing is a local directory's names (ReadNames, in bounded
// memory), each lstat'ed as it is read.
type localListing struct {
	dir   string
	names *Names
	err   error
}

// listLocal lists dir; a missing dir (or, in a dry run, a file that is to
// become one) has no entries.
func listLocal(dir string) (Listing, error) {
	f, err := os.Open(dir)
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
		return emptyListing{}, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	names, err := ReadNames(f)
	if err != nil {
		return nil, err
	}
	return &localListing{dir: dir, names: names}, nil
}

func (l *localListing) Next() (Dirent, bool) {
	for l.err == nil {
		n, ok := l.names.Next()
		if !ok {
			l.err = l.names.Err()
			break
		}
		d, err := localLstat(filepath.Join(l.dir, n))
		if errors.Is(err, fs.ErrNotExist) {
			continue // vanished since the listing
		}
		if err != nil {
			l.err = err
			break
		}
		d.Name = n
		return d, true
	}
	return Dirent{}, false
}

func (l *localListing) Err() error   { return l.err }
func (l *localListing) Close() error { return l.names.Close() }

// DirentBuffer holds a listing that arrives whole (a server's, on a
// control stream that must be free again before the walker goes on) in
// bounded memory: up to the sort threshold's entries in memory, then all of them
// in an unlinked temporary file. Add refuses what a sorted listing of one
// directory cannot hold: a name out of order or twice, an empty name, ".",
// "..", a name with a '/' or a NUL (a hostile server's entry must not lead
// the walker out of the local target).
type DirentBuffer struct {
	mem   []Dirent
	last  string
	n     int
	spill *os.File
	w     *bufio.Writer
	buf   []byte
}

// CheckName refuses a listing's name that is not a plain name.
func CheckName(name string) error {
	if name == "" || name == "." || name == ".." || strings.ContainsAny(name, "/\x00") {
		return fmt.Errorf("bad name %q in a listing", name)
	}
	return nil
}

// Add appends d, whose name must follow the last one's.
func (b *DirentBuffer) Add(d Dirent) error {
	if err := CheckName(d.Name); err != nil {
		return err
	}
	if b.n > 0 && d.Name <= b.last {
		return fmt.Errorf("listing not sorted: %q after %q", d.Name, b.last)
	}
	b.last = d.Name
	b.n++
	if b.spill == nil && len(b.mem) < threshold() {
		b.mem = append(b.mem, d)
		return nil
	}
	if b.spill == nil {
		sp, err := os.CreateTemp("", "pdiffagent-listing-*")
		if err != nil {
			return fmt.Errorf("hold a large listing: %w", err)
		}
		os.Remove(sp.Name())
		b.spill, b.w = sp, bufio.NewWriterSize(sp, 64<<10)
		for _, m := range b.mem {
			if err := b.write(m); err != nil {
				return err
			}
		}
		b.mem = nil
	}
	return b.write(d)
}

func (b *DirentBuffer) write(d Dirent) error {
	e := &d.Entry
	p := b.buf[:0]
	rec := uint64(0)
	if e.Record != nil {
		rec = 1
	}
	for _, v := range []uint64{uint64(e.Kind), uint64(e.Mode), uint64(e.Size), uint64(e.ModTime), uint64(e.Uid),
		uint64(e.Gid), e.Nlink, e.Dev, e.Ino, e.Rdev, uint64(len(d.Name)), uint64(len(d.Link)), rec} {
		p = binary.AppendUvarint(p, v)
	}
	p = append(append(p, d.Name...), d.Link...)
	if e.Record != nil {
		p = append(p, e.Record[:]...)
	}
	b.buf = p
	if _, err := b.w.Write(p); err != nil {
		return fmt.Errorf("hold a large listing: %w", err)
	}
	return nil
}

// Listing returns what was added, to read once; b must not be added to
// after it.
func (b *DirentBuffer) Listing() (Listing, error) {
	if b.spill == nil {
		l := &memListing{ents: b.mem}
		b.mem = nil
		return l, nil
	}
	if err := b.w.Flush(); err != nil {
		b.spill.Close()
		return nil, fmt.Errorf("hold a large listing: %w", err)
	}
	l := &spillListing{f: b.spill, r: bufio.NewReaderSize(io.NewSectionReader(b.spill, 0, 1<<62), spillReadBuf), left: b.n}
	b.spill = nil
	return l, nil
}

// Close releases what b holds (when its Listing was not taken).
func (b *DirentBuffer) Close() {
	b.mem = nil
	if b.spill != nil {
		b.spill.Close()
		b.spill = nil
	}
}

// memListing is a listing in memory.
type memListing struct {
	ents []Dirent
	next int
}

func (l *memListing) Next() (Dirent, bool) {
	if l.next == len(l.ents) {
		return Dirent{}, false
	}
	d := l.ents[l.next]
	l.ents[l.next] = Dirent{}
	l.next++
	return d, true
}

func (*memListing) Err() error     { return nil }
func (l *memListing) Close() error { l.ents = nil; return nil }

// spillListing reads a DirentBuffer's temporary file back.
type spillListing struct {
	f    *os.File
	r    *bufio.Reader
	left int
	err  error
}

func (l *spillListing) Next() (Dirent, bool) {
	if l.left == 0 || l.err != nil {
		return Dirent{}, false
	}
	var v [13]uint64
	for i := range v {
		if v[i], l.err = binary.ReadUvarint(l.r); l.err != nil {
			l.err = fmt.Errorf("read back a large listing: %w", l.err)
			return Dirent{}, false
		}
	}
	if v[10] > maxSpilledName || v[11] > maxSpilledName || v[12] > 1 {
		l.err = errors.New("read back a large listing: a name too long, or a bad record flag")
		return Dirent{}, false
	}
	recLen := v[12] * uint64(len(RecordDigest{}))
	s := make([]byte, v[10]+v[11]+recLen)
	if _, err := io.ReadFull(l.r, s); err != nil {
		l.err = fmt.Errorf("read back a large listing: %w", err)
		return Dirent{}, false
	}
	l.left--
	d := Dirent{Name: string(s[:v[10]]), Link: string(s[v[10] : v[10]+v[11]]), Entry: Entry{
		Kind: Kind(v[0]), Mode: fs.FileMode(v[1]), Size: int64(v[2]), ModTime: int64(v[3]), Uid: uint32(v[4]),
		Gid: uint32(v[5]), Nlink: v[6], Dev: v[7], Ino: v[8], Rdev: v[9],
	}}
	if recLen > 0 {
		d.Record = (*RecordDigest)(s[v[10]+v[11]:])
	}
	return d, true
}

func (l *spillListing) Err() error { return l.err }

func (l *spillListing) Close() error {
	if l.f == nil {
		return nil
	}
	err := l.f.Close()
	l.f = nil
	return err
}
