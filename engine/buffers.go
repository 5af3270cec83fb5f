package engine

import (
	"github.com/pdiffagent/pdiffagent/engine/sha256mb"
	"sync"
	"unsafe"

	"github.com/pdiffagent/pdiffagent/sysio"
)

// Window sizes, fixed functions of the block size so both sides agree
// without negotiating: a sender worker holds at most windowBatches+1
// batches of blocks read but not yet decided, and each batch covers about
// batchBytes. Memory is thus bounded per worker, whatever the file size.
const (
	batchBytes    = 4 << 20
	windowBatches = 3
)

func batchBlocks(blockSize int) int {
	n := batchBytes / blockSize
	if n < 1 {
		return 1
	}
	return n
}

// bufPools holds block buffers by size: a free list each, which the
// garbage collector does not empty (a sync.Pool's is emptied every other
// collection). sysio carves buffers of a block's size out of shared slabs
// of huge pages; a buffer dropped by the pool and allocated again would
// take a fresh slab while the old one stays alive with its other buffers,
// and a receiver's peak RSS measured 86 MiB instead of 29. A list keeps at
// most freeBytes of each size (and at least freeMin buffers); a buffer put
// beyond that is left to the collector. Buffers are sysio-aligned so that
// O_DIRECT I/O can use them.
var bufPools sync.Map // int -> *freeList

const (
	freeBytes = 64 << 20
	freeMin   = 4
)

type freeList struct {
	mu   sync.Mutex
	bufs [][]byte
}

func freeListOf(size int) *freeList {
	if l, ok := bufPools.Load(size); ok {
		return l.(*freeList)
	}
	l, _ := bufPools.LoadOrStore(size, &freeList{})
	return l.(*freeList)
}

func getBuf(size, n int) []byte {
	l := freeListOf(size)
	l.mu.Lock()
	if k := len(l.bufs); k > 0 {
		b := l.bufs[k-1]
		l.bufs[k-1] = nil
		l.bufs = l.bufs[:k-1]
		l.mu.Unlock()
		return b[:n]
	}
	l.mu.Unlock()
	return sysio.AlignedBuffer(size)[:n]
}

// putBuf returns b to the pool of its size, if it is one of ours.
func putBuf(size int, b []byte) {
	if b == nil || cap(b) < size || size == 0 || uintptr(unsafe.Pointer(unsafe.SliceData(b)))%sysio.Alignment != 0 {
		return
	}
	l := freeListOf(size)
	l.mu.Lock()
	if len(l.bufs) < max(freeMin, freeBytes/size) {
		l.bufs = append(l.bufs, b[:size])
	}
	l.mu.Unlock()
}

// BlockBuffer returns a buffer of n bytes for a session whose blocks are
// blockSize bytes, from the pool that the receiver returns written blocks
// to. The network layer reads Data payloads into it, so that a transfer
// recycles its buffers instead of allocating one per block.
func BlockBuffer(blockSize, n int) []byte {
	if n > blockSize || blockSize > 1<<30 {
		return make([]byte, n)
	}
	return getBuf(bufClass(blockSize, n), n)
}

// ReleaseBlockBuffer gives b back to the pool of blockSize buffers (or of
// sub-blocks), if it came from there. A Stream that has written a Data or
// SubData payload out may call it: the payload is the stream's once sent.
func ReleaseBlockBuffer(blockSize int, b []byte) { releaseBuf(blockSize, b) }

// bufClass is the pool for n bytes in a session of blockSize-byte blocks:
// the smallest power of two from refineSub that holds n, up to blockSize,
// so that a sub-block or a run of them (refine.go: an 8 KiB page is two)
// does not take a whole block. With runs in whole-block buffers a
// 1000-page push held up to a writer queue of 1 MiB buffers per worker
// for payloads of 8 KiB.
func bufClass(blockSize, n int) int {
	c := refineSub
	for c < n && c < blockSize {
		c <<= 1
	}
	return max(c, min(n, blockSize))
}

// releaseBuf returns b to the pool bufClass took it from.
func releaseBuf(blockSize int, b []byte) {
	if c := cap(b); c < blockSize && c >= refineSub && c&(c-1) == 0 {
		putBuf(c, b)
		return
	}
	putBuf(blockSize, b)
}

// WorkerMemory is the most block-buffer memory one worker of a session
// holds at once, for a server's memory budget (agent counts sessions
// against it; a session's workers set how many blocks are in flight).
// A sender holds its window (windowBatches batches awaiting their verdict
// and one being read, pooled buffers or a mapping of the same size), a
// block copied out of a mapping on its way to the stream, a compressed
// one and the blocks in its send queue (sendqueue.go). A receiver holds
// the Data payload being read, what its writer holds (writerHeld: queued
// blocks and a run being written), a decompression buffer, the hasher's
// read buffers (hashLanes: blocks that look the same wait to be tier-2
// hashed together) and, recording, copies of up to refineHeld refined
// blocks and up to hashLanes-1 settled ones waiting for their records'
// hashes (putRefined).
func WorkerMemory(s Session, sender bool) int64 {
	bs := int64(s.BlockSize)
	if bs <= 0 {
		bs = DefaultBlockSize
	}
	if sender {
		return int64((windowBatches+1)*batchBlocks(int(bs))+sendQueueLen(int(bs)))*bs + 2*bs
	}
	return int64(writerHeld(int(bs))+3+2*(hashLanes(int(bs))-1))*bs + int64(refineHeld(int(bs)))*bs
}

// lanesBytes bounds the blocks a worker holds to tier-2 hash them
// together.
const lanesBytes = 4 << 20

// hashLanes is how many blocks of blockSize bytes a worker tier-2 hashes
// together: sha256mb.Lanes for blocks up to 1 MiB, fewer for larger ones
// (one from 4 MiB up), so that large blocks do not multiply what a
// worker holds (a server's memory budget counts it: WorkerMemory).
func hashLanes(blockSize int) int {
	return max(1, min(sha256mb.Lanes, lanesBytes/max(blockSize, 1)))
}
