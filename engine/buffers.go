package engine

import (
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

// bufPools holds block buffers by size. Buffers are sysio-aligned so that
// O_DIRECT I/O can use them.
var bufPools sync.Map // int -> *sync.Pool

func getBuf(size, n int) []byte {
	p, _ := bufPools.LoadOrStore(size, &sync.Pool{})
	if b, ok := p.(*sync.Pool).Get().(*[]byte); ok {
		return (*b)[:n]
	}
	return sysio.AlignedBuffer(size)[:n]
}

// putBuf returns b to the pool of its size, if it is one of ours.
func putBuf(size int, b []byte) {
	if b == nil || cap(b) < size || size == 0 || uintptr(unsafe.Pointer(unsafe.SliceData(b)))%sysio.Alignment != 0 {
		return
	}
	b = b[:size]
	p, _ := bufPools.LoadOrStore(size, &sync.Pool{})
	p.(*sync.Pool).Put(&b)
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
// sub-blocks (refine.go) have one of their own, so that each does not
// take a whole block.
func bufClass(blockSize, n int) int {
	if n <= refineSub && blockSize > refineSub {
		return refineSub
	}
	return blockSize
}

// releaseBuf returns b to the pool bufClass took it from.
func releaseBuf(blockSize int, b []byte) {
	if cap(b) == refineSub && blockSize > refineSub {
		putBuf(refineSub, b)
		return
	}
	putBuf(blockSize, b)
}

// WorkerMemory is the most block-buffer memory one worker of a session
// holds at once, for a server's memory budget (agent counts sessions
// against it; a session's workers set how many blocks are in flight).
// A sender holds its window (windowBatches batches awaiting their verdict
// and one being read, pooled buffers or a mapping of the same size), a
// block copied out of a mapping on its way to the stream and a compressed
// one. A receiver holds the Data payload being read, writeQueue queued
// blocks and one being written, a decompression buffer and the hasher's
// read buffer, and, recording, copies of up to refineHeld refined blocks.
func WorkerMemory(s Session, sender bool) int64 {
	bs := int64(s.BlockSize)
	if bs <= 0 {
		bs = DefaultBlockSize
	}
	if sender {
		return int64((windowBatches+1)*batchBlocks(int(bs)))*bs + 2*bs
	}
	return int64(writeQueue+4)*bs + refineHeld(int(bs))*bs
}
