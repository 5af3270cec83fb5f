package tree

import (
	"bufio"
	"container/heap"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"sync/atomic"
)

// Sorted listings in bounded memory. A directory's names are read in
// chunks of at most the sort threshold (SetSortThreshold); a directory
// that fits in one chunk is sorted in memory, as it always was. A larger one is sorted chunk by
// chunk, each sorted chunk (a run) written to one temporary file,
// unlinked at once so that nothing is left behind whatever happens, and
// the runs are merged as the names are read (an external merge sort): in
// memory there are then one chunk while it is sorted, and one buffered
// reader per run while they merge, whatever the directory's size.

// DefaultSortThreshold is the most names (or, of a listing received
// whole, entries) a listing holds in memory: a larger directory is sorted
// in runs of this many, spilled to a temporary file and merged. About
// 64 K names of up to 255 bytes: a few MiB at most.
const DefaultSortThreshold = 64 << 10

var sortThreshold atomic.Int64 // zero: DefaultSortThreshold

// SetSortThreshold sets the threshold of the listings started from now on
// (tests lower it; zero restores the default) and returns the previous
// one.
func SetSortThreshold(n int) int {
	old := threshold()
	sortThreshold.Store(int64(max(n, 0)))
	return old
}

func threshold() int {
	if n := sortThreshold.Load(); n > 0 {
		return int(n)
	}
	return DefaultSortThreshold
}

// spillReadBuf is each run's read buffer while the runs merge.
const spillReadBuf = 4 << 10

// Names is a directory's names, sorted, read one at a time.
type Names struct {
	mem  []string // the whole directory, when it fit in one chunk
	next int

	spill *os.File // the runs, one after the other (unlinked)
	runs  runHeap
	nruns int
	held  int // most names held in memory at once (tests)

	err error
}

// ReadNames reads the names of the directory f (from its current
// position), sorted, holding at most the sort threshold's names in memory.
func ReadNames(f *os.File) (*Names, error) {
	limit := threshold()
	n := &Names{}
	chunk, err := readChunk(f, limit)
	if err != nil {
		return nil, err
	}
	n.held = len(chunk)
	if len(chunk) < limit {
		slices.Sort(chunk)
		n.mem = chunk
		return n, nil
	}
	if err := n.spillAll(f, chunk, limit); err != nil {
		n.Close()
		return nil, err
	}
	return n, nil
}

// readChunk reads up to limit names of f.
func readChunk(f *os.File, limit int) ([]string, error) {
	var names []string
	for len(names) < limit {
		got, err := f.Readdirnames(min(limit-len(names), 1024))
		names = append(names, got...)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
	}
	return names, nil
}

// spillAll writes chunk and every later chunk of f as sorted runs, then
// sets up their merge.
func (n *Names) spillAll(f *os.File, chunk []string, limit int) error {
	sp, err := os.CreateTemp("", "pdiffagent-names-*")
	if err != nil {
		return fmt.Errorf("sort a large directory: %w", err)
	}
	os.Remove(sp.Name()) // nothing left behind: the descriptor holds it
	n.spill = sp
	w := bufio.NewWriterSize(sp, 64<<10)
	var (
		off    int64
		bounds []int64 // each run's start, and the end
		buf    []byte
	)
	for len(chunk) > 0 {
		slices.Sort(chunk)
		bounds = append(bounds, off)
		for _, s := range chunk {
			buf = binary.AppendUvarint(buf[:0], uint64(len(s)))
			buf = append(buf, s...)
			if _, err := w.Write(buf); err != nil {
				return fmt.Errorf("sort a large directory: %w", err)
			}
			off += int64(len(buf))
		}
		if len(chunk) < limit {
			break
		}
		clear(chunk) // the strings can go
		if chunk, err = readChunk(f, limit); err != nil {
			return err
		}
	}
	if err := w.Flush(); err != nil {
		return fmt.Errorf("sort a large directory: %w", err)
	}
	bounds = append(bounds, off)
	for i := range len(bounds) - 1 {
		r := &run{r: bufio.NewReaderSize(io.NewSectionReader(sp, bounds[i], bounds[i+1]-bounds[i]), spillReadBuf)}
		if r.advance() {
			n.runs = append(n.runs, r)
		} else if r.err != nil {
			return r.err
		}
	}
	n.nruns = len(bounds) - 1
	heap.Init(&n.runs)
	return nil
}

// Next is the next name; false at the end or on an error (Err).
func (n *Names) Next() (string, bool) {
	if n.err != nil {
		return "", false
	}
	if n.spill == nil {
		if n.next == len(n.mem) {
			return "", false
		}
		s := n.mem[n.next]
		n.mem[n.next] = ""
		n.next++
		return s, true
	}
	if len(n.runs) == 0 {
		return "", false
	}
	r := n.runs[0]
	s := r.cur
	if r.advance() {
		heap.Fix(&n.runs, 0)
	} else {
		if r.err != nil {
			n.err = r.err
			return "", false
		}
		heap.Pop(&n.runs)
	}
	return s, true
}

// Err is the error that ended Next early, if any.
func (n *Names) Err() error { return n.err }

// Runs is how many sorted runs were spilled (0: sorted in memory).
func (n *Names) Runs() int { return n.nruns }

// Close releases the temporary file.
func (n *Names) Close() error {
	n.mem, n.runs = nil, nil
	if n.spill != nil {
		err := n.spill.Close()
		n.spill = nil
		return err
	}
	return nil
}

// run is one sorted run of the spill, being merged.
type run struct {
	r   *bufio.Reader
	cur string
	err error
}

// maxSpilledName bounds a name read back (a corrupt spill must not
// allocate at will); names are at most 255 bytes on Linux.
const maxSpilledName = 64 << 10

// advance reads the run's next name into cur; false at its end.
func (r *run) advance() bool {
	l, err := binary.ReadUvarint(r.r)
	if errors.Is(err, io.EOF) {
		return false
	}
	if err == nil && l > maxSpilledName {
		err = fmt.Errorf("name of %d bytes", l)
	}
	if err == nil {
		b := make([]byte, l)
		if _, err = io.ReadFull(r.r, b); err == nil {
			r.cur = string(b)
			return true
		}
	}
	r.err = fmt.Errorf("sort a large directory: read back: %w", err)
	return false
}

// runHeap orders the runs by their current name.
type runHeap []*run

func (h runHeap) Len() int           { return len(h) }
func (h runHeap) Less(i, j int) bool { return h[i].cur < h[j].cur }
func (h runHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *runHeap) Push(x any)        { *h = append(*h, x.(*run)) }
func (h *runHeap) Pop() any {
	old := *h
	r := old[len(old)-1]
	*h = old[:len(old)-1]
	return r
}
