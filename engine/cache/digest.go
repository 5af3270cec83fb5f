package cache

import (
	"crypto/sha256"
	"encoding/binary"
	"io"
	"math/bits"
)

// A record's digest identifies its whole hash list: two records with the
// same digest are of files of the same size, cut at the same block size,
// whose every block has the same tier-1 and tier-2 hash. A session whose
// two sides' records are hits with the same digest has equal copies
// (engine, "Equal by records"). The Writer computes it as chunks complete
// (in any order: the sum, modulo 2^256, of sha256(chunk index, entries)),
// then finishes it over the header's size, block size, method and block
// count. Only a record with every tier-2 hash (not Lazy) has one.
//
// It is stored in a trailer after the last chunk: magic (8), digest (32),
// crc32c (4) of nonce||magic||digest. A record without a valid trailer
// (made before it existed, or torn) has no digest and is used as before.
const (
	trailerMagic = "PDACDIG1"
	trailerSize  = 8 + DigestSize + 4
	// DigestSize is the size of a record's digest.
	DigestSize = 32
)

// chunkSum is the order-independent sum of the chunks' hashes.
type chunkSum [4]uint64

func (s *chunkSum) add(c uint64, entries []byte) {
	h := sha256.New()
	var ci [8]byte
	binary.LittleEndian.PutUint64(ci[:], c)
	h.Write(ci[:])
	h.Write(entries)
	var sum [sha256.Size]byte
	h.Sum(sum[:0])
	var carry uint64
	for k := len(s) - 1; k >= 0; k-- {
		s[k], carry = bits.Add64(s[k], binary.BigEndian.Uint64(sum[8*k:]), carry)
	}
}

// recordDigest finishes a record's digest from the chunks' sum.
func recordDigest(h *Header, s *chunkSum) [DigestSize]byte {
	var b [8 + 8 + 4 + 1 + 8 + 32]byte
	copy(b[:], trailerMagic)
	binary.LittleEndian.PutUint64(b[8:], uint64(h.Identity.Size))
	binary.LittleEndian.PutUint32(b[16:], uint32(h.BlockSize))
	b[20] = h.Method
	binary.LittleEndian.PutUint64(b[21:], h.Blocks)
	for k, x := range s {
		binary.BigEndian.PutUint64(b[29+8*k:], x)
	}
	return sha256.Sum256(b[:])
}

func trailerOffset(blocks uint64) int64 { return chunkOffset(chunkCount(blocks)) }

func encodeTrailer(nonce []byte, d [DigestSize]byte) []byte {
	b := make([]byte, trailerSize)
	copy(b, trailerMagic)
	copy(b[8:], d[:])
	binary.LittleEndian.PutUint32(b[8+DigestSize:], chunkCRC(nonce, b[:8], b[8:8+DigestSize]))
	return b
}

// readTrailer reads a record's digest; ok is false without a valid one.
func readTrailer(r io.ReaderAt, h *Header) (d [DigestSize]byte, ok bool) {
	if h.Lazy {
		return d, false
	}
	b := make([]byte, trailerSize)
	if _, err := r.ReadAt(b, trailerOffset(h.Blocks)); err != nil {
		return d, false
	}
	if string(b[:8]) != trailerMagic ||
		binary.LittleEndian.Uint32(b[8+DigestSize:]) != chunkCRC(h.nonce[:], b[:8], b[8:8+DigestSize]) {
		return d, false
	}
	copy(d[:], b[8:])
	return d, d != [DigestSize]byte{}
}
