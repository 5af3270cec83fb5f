package engine

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/pdiffagent/pdiffagent/wire"
)

// eagerModes are the sender's two ways of reading, forced.
var eagerModes = []struct {
	name string
	mode int8
}{{"eager", 1}, {"keep", -1}}

// TestEagerForcedWeakCollision: with every tier-1 hash colliding, a
// sender that hashed its blocks eagerly (and kept none) still finds every
// changed block by its tier-2 hash, reads it again and sends it.
func TestEagerForcedWeakCollision(t *testing.T) {
	for _, m := range eagerModes {
		for _, h := range []StrongHash{SHA256, BLAKE3} {
			t.Run(m.name+"/"+h.String(), func(t *testing.T) {
				checkNoLeak(t)
				src := randBytes(12, 20*testBS)
				s, d := writeCase(t, syncCase{src: src, dst: flip(src, 0, 7*testBS+1, 19*testBS)})
				opt := Options{Weak: func([]byte) uint64 { return 42 }, testEager: m.mode}
				st, _ := syncCaps(t, s, d, Params{Session: Session{BlockSize: testBS, Workers: 2, Strong: h}}, opt, wire.AgentCaps)
				checkFile(t, d, src)
				if st.WeakCollisions != 3 || st.BlocksChanged != 3 || st.BlocksConfirmed != 17 || !st.Verified {
					t.Errorf("collisions %d, changed %d, confirmed %d, verified %v; want 3, 3, 17, true",
						st.WeakCollisions, st.BlocksChanged, st.BlocksConfirmed, st.Verified)
				}
				if want := map[int8]int64{1: 20, -1: 0}[m.mode]; st.eagerBlocks != want {
					t.Errorf("%d blocks hashed eagerly, want %d", st.eagerBlocks, want)
				}
			})
		}
	}
}

// TestEagerCases: every case of TestSyncLocalCases (holes of a missing
// target, partial last blocks, larger and smaller targets) gives the same
// file and counts whether the sender hashes eagerly or keeps its blocks.
func TestEagerCases(t *testing.T) {
	for _, m := range eagerModes {
		for _, c := range cases() {
			t.Run(m.name+"/"+c.name, func(t *testing.T) {
				s, d := writeCase(t, c)
				st, err := SyncLocal(context.Background(), s, d, Params{Session: Session{BlockSize: testBS, Workers: 2}}, Options{testEager: m.mode})
				if err != nil {
					t.Fatal(err)
				}
				checkFile(t, d, c.src)
				if c.changed >= 0 && st.BlocksChanged != c.changed {
					t.Errorf("changed %d, want %d", st.BlocksChanged, c.changed)
				}
			})
		}
	}
}

// TestEagerRefine: refinement of an eager batch's blocks (read again for
// it) sends exactly the sub-blocks it sends from kept blocks, and a forced
// sub-block tier-1 collision is still caught by the strong hash.
func TestEagerRefine(t *testing.T) {
	for _, m := range eagerModes {
		for _, collide := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/collide=%v", m.name, collide), func(t *testing.T) {
				checkNoLeak(t)
				src, dst, want := pagesCase(t)
				opt := Options{testEager: m.mode}
				if collide {
					opt.testSubWeak = func([]byte) uint64 { return 42 }
				}
				sst, _ := syncCaps(t, src, dst, Params{Session: Session{BlockSize: mib, Workers: 2}}, opt, wire.AgentCaps)
				checkFile(t, dst, want)
				if sst.BlocksRefined != 4 || sst.SubBlocksSent != 9 || sst.BytesSent != 4*8192+904 || !sst.Verified {
					t.Errorf("sender %+v", sst)
				}
				if collide && sst.WeakCollisions != 9 {
					t.Errorf("%d collisions, want 9", sst.WeakCollisions)
				}
				if m.mode > 0 && sst.eagerBlocks != 7 {
					t.Errorf("%d blocks hashed eagerly, want 7", sst.eagerBlocks)
				}
			})
		}
	}
}

// TestEagerRolling: the search reads a block of an eager batch that it
// wants after the one it searches from the source, so an insertion is
// found as well as from kept blocks.
func TestEagerRolling(t *testing.T) {
	old := randBytes(10, 6*mib+333)
	data := insertAt(old, len(old)/2+7, randBytes(77, 4096))
	for _, m := range eagerModes {
		t.Run(m.name, func(t *testing.T) {
			checkNoLeak(t)
			sst, rst := rollSync(t, data, old, rollParams(), Options{testEager: m.mode}, rollCaps)
			if sst.BytesSent > 2*4096+slack || rst.BlocksMoved == 0 {
				t.Errorf("sent %d bytes for 4096 inserted, %d blocks moved", sst.BytesSent, rst.BlocksMoved)
			}
		})
	}
}

// TestEagerSourceChanged: a block hashed eagerly that changes before it is
// read again to be sent fails the sync, even with its mtime put back: the
// digest takes the tier-1 hash of the bytes hashed, the receiver that of
// the bytes it got.
func TestEagerSourceChanged(t *testing.T) {
	checkNoLeak(t)
	src := randBytes(16, 32*testBS)
	s, d := writeCase(t, syncCase{src: src, dst: flip(src, 5*testBS)})
	fi, err := os.Stat(s)
	if err != nil {
		t.Fatal(err)
	}
	opt := Options{testEager: 1, testAfterEager: func(blk int64) {
		if blk != 5 {
			return
		}
		f, err := os.OpenFile(s, os.O_WRONLY, 0)
		if err != nil {
			t.Error(err)
			return
		}
		if _, err := f.WriteAt([]byte{src[5*testBS+1] ^ 1}, 5*testBS+1); err != nil {
			t.Error(err)
		}
		f.Close()
		if err := os.Chtimes(s, fi.ModTime(), fi.ModTime()); err != nil {
			t.Error(err)
		}
	}}
	_, err = SyncLocal(context.Background(), s, d, Params{Session: Session{BlockSize: testBS, Workers: 1}}, opt)
	if err == nil || !errors.Is(err, ErrVerify) && !strings.Contains(err.Error(), "digest differs") {
		t.Fatalf("err = %v, want the digests to differ", err)
	}
}

// TestEagerRate: the reader keeps its blocks until the first verdict,
// then hashes eagerly while the moving need rate stays under 1/8.
func TestEagerRate(t *testing.T) {
	e := newEagerRate(0)
	if e.eager() {
		t.Fatal("eager before any verdict")
	}
	e.observe(0, 4)
	if !e.eager() {
		t.Fatal("not eager after a verdict with nothing needed")
	}
	e.observe(4, 4)
	if e.eager() {
		t.Fatal("eager after a fully needed batch")
	}
	for range 10 {
		e.observe(0, 4)
	}
	if !e.eager() {
		t.Fatal("not eager after ten batches with nothing needed")
	}
	full := newEagerRate(0)
	for range 100 {
		full.observe(4, 4)
		if full.eager() {
			t.Fatal("eager while every block is needed")
		}
	}
	if !newEagerRate(1).eager() || newEagerRate(-1).eager() {
		t.Fatal("forced modes ignored")
	}
}
