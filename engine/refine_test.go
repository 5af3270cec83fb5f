package engine

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/pdiffagent/pdiffagent/engine/cache"
	"github.com/pdiffagent/pdiffagent/sysio"
	"github.com/pdiffagent/pdiffagent/wire"
)

// syncCaps is SyncLocal for sessions whose peers share caps; it returns
// both sides' Stats.
func syncCaps(t *testing.T, src, dst string, p Params, opt Options, caps wire.Caps) (sendSt, recvSt Stats) {
	t.Helper()
	ctx := context.Background()
	op := LocalOpener{}
	source, err := OpenSource(op, src)
	if err != nil {
		t.Fatal(err)
	}
	defer source.File.Close()
	if p, err = p.Bind(source.Size); err != nil {
		t.Fatal(err)
	}
	p.Caps = caps
	tg, err := OpenTarget(ctx, op, dst, p.DryRun, false)
	if err != nil {
		t.Fatal(err)
	}
	if err := tg.Create(); err != nil {
		t.Fatal(err)
	}
	sendSide, recvSide := make([]Stream, p.Workers), make([]Stream, p.Workers)
	for i := range sendSide {
		sendSide[i], recvSide[i] = Pipe()
	}
	var wg sync.WaitGroup
	var sendErr error
	wg.Add(1)
	go func() {
		defer wg.Done()
		sendSt, sendErr = Send(ctx, source, p, sendSide, opt)
	}()
	recvSt, err = Receive(ctx, tg.File, p, recvSide, opt)
	wg.Wait()
	if err == nil {
		err = sendErr
	}
	if err == nil {
		err = tg.Commit()
	}
	tg.Close(err, recvSt)
	if err != nil {
		t.Fatal(err)
	}
	return sendSt, recvSt
}

const mib = 1 << 20

// pagesCase is a 6 MiB + 5000-byte file whose copy differs in four 8 KiB
// pages (two in one block) and in the last 904 bytes' sub-block of the
// partial last block: 9 sub-blocks, 33,672 bytes, in 4 blocks.
func pagesCase(t *testing.T) (src, dst string, want []byte) {
	data := randBytes(40, 6*mib+5000)
	old := append([]byte(nil), data...)
	for _, off := range []int{8192, 2*mib + 64<<10, 3 * mib, 3*mib + 512<<10} {
		copy(old[off:off+8192], randBytes(uint64(off), 8192))
	}
	old[6*mib+4500] ^= 1
	src, dst = writeCase(t, syncCase{src: data, dst: old})
	return src, dst, data
}

func checkFile(t *testing.T, path string, want []byte) {
	t.Helper()
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("target differs from the source")
	}
}

// TestRefinePages: 8 KiB changes inside 1 MiB blocks send their sub-blocks
// only, in a session with CapRefine; without it, whole blocks.
func TestRefinePages(t *testing.T) {
	for _, w := range []int{1, 2} {
		checkNoLeak(t)
		src, dst, want := pagesCase(t)
		p := Params{Session: Session{BlockSize: mib, Workers: w}}
		sst, rst := syncCaps(t, src, dst, p, Options{}, wire.AgentCaps)
		checkFile(t, dst, want)
		for _, st := range []Stats{sst, rst} {
			if st.BlocksRefined != 4 || st.SubBlocksSent != 9 || st.BytesSent != 4*8192+904 ||
				st.BlocksChanged != 4 || st.BlocksConfirmed != 3 || st.WeakCollisions != 0 || !st.Verified {
				t.Errorf("workers %d: %+v", w, st)
			}
		}
		if sst.BytesWire > 200<<10 {
			t.Errorf("bytes on the wire %d, want under 200 KiB", sst.BytesWire)
		}

		src, dst, want = pagesCase(t)
		sst, rst = syncCaps(t, src, dst, p, Options{}, wire.AgentCaps&^wire.CapRefine)
		checkFile(t, dst, want)
		for _, st := range []Stats{sst, rst} {
			if st.BlocksRefined != 0 || st.SubBlocksSent != 0 || st.BytesSent != 3*mib+5000 || st.BlocksChanged != 4 || !st.Verified {
				t.Errorf("without CapRefine, workers %d: %+v", w, st)
			}
		}
	}
}

// TestRefineWeakCollision: every sub-block's tier-1 hash collides; the
// strong hash still tells the changed ones, which are sent.
func TestRefineWeakCollision(t *testing.T) {
	checkNoLeak(t)
	src, dst, want := pagesCase(t)
	weak := func([]byte) uint64 { return 42 }
	p := Params{Session: Session{BlockSize: mib, Workers: 2}}
	sst, rst := syncCaps(t, src, dst, p, Options{testSubWeak: weak}, wire.AgentCaps)
	checkFile(t, dst, want)
	if sst.BlocksRefined != 4 || sst.SubBlocksSent != 9 || sst.WeakCollisions != 9 || sst.BytesSent != 4*8192+904 || !sst.Verified {
		t.Errorf("sender %+v", sst)
	}
	if rst.SubBlocksSent != 9 || !rst.Verified {
		t.Errorf("receiver %+v", rst)
	}
}

// TestRefineWholeBlocks: when every block changed, the sender sends each
// refined block whole, as Data (no sub-block matched), the receiver soon
// stops refining, and refinement costs the wire only its sums: bytes_wire
// exceeds the unrefined sync's by the Refines alone.
func TestRefineWholeBlocks(t *testing.T) {
	const blocks = 64
	data := randBytes(41, blocks*mib-3000)
	for _, w := range []int{1, 2} {
		checkNoLeak(t)
		p := Params{Session: Session{BlockSize: mib, Workers: w}}
		src, dst := writeCase(t, syncCase{src: data, dst: randBytes(42, blocks*mib)})
		sst, rst := syncCaps(t, src, dst, p, Options{}, wire.AgentCaps)
		checkFile(t, dst, data)
		if sst.BlocksChanged != blocks || sst.BytesSent != int64(len(data)) || !sst.Verified || !rst.Verified {
			t.Errorf("workers %d: sender %+v", w, sst)
		}
		if sst.BlocksRefined != 0 || rst.BlocksRefined != 0 || sst.SubBlocksSent != 0 || rst.SubBlocksSent != 0 {
			t.Errorf("workers %d: %d (receiver %d) blocks refined, %d (%d) sub-blocks sent, want every block whole",
				w, sst.BlocksRefined, rst.BlocksRefined, sst.SubBlocksSent, rst.SubBlocksSent)
		}
		src, dst = writeCase(t, syncCase{src: data, dst: randBytes(42, blocks*mib)})
		plain, _ := syncCaps(t, src, dst, p, Options{}, wire.AgentCaps&^wire.CapRefine)
		// The wire carries the Refines beyond the unrefined sync's frames:
		// an empty one per batch, and the sums of each block offered in
		// sub-blocks: refineStreak blocks over all stripes, then at most
		// each worker's window (about windowBatches+1 batches) already
		// hashed, and a probe each.
		one := &wire.Refine{Blocks: []wire.RefineBlock{{Weak: make([]uint64, mib/refineSub), Strong: make([][wire.StrongSize]byte, mib/refineSub)}}}
		sums, empty := int64(one.Len()-(&wire.Refine{}).Len()), int64(wire.FrameHeaderLen+(&wire.Refine{}).Len())
		offered := (sst.BytesWire - plain.BytesWire - blocks/int64(batchBlocks(mib))*empty) / sums
		limit := int64(refineStreak + w*((windowBatches+3)*batchBlocks(mib)+1))
		t.Logf("workers %d: %d of %d blocks offered in sub-blocks; bytes_wire %d, %d unrefined", w, offered, blocks, sst.BytesWire, plain.BytesWire)
		if offered < refineStreak || offered > limit {
			t.Errorf("workers %d: %d blocks offered in sub-blocks of %d, want %d to %d", w, offered, blocks, refineStreak, limit)
		}
	}
}

// TestRefineRuns: consecutive changed sub-blocks go as one SubData each
// run, at most half a block long: a block changed but for its first
// sub-block takes two frames (128 and 127 sub-blocks), as bytes_wire
// counts them.
func TestRefineRuns(t *testing.T) {
	checkNoLeak(t)
	data := randBytes(43, 2*mib+1000)
	old := append([]byte(nil), data...)
	copy(old[refineSub:mib], randBytes(44, mib-refineSub))
	src, dst := writeCase(t, syncCase{src: data, dst: old})
	st, err := SyncLocal(context.Background(), src, dst, Params{Session: Session{BlockSize: mib, Workers: 1}}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	checkFile(t, dst, data)
	subs := mib / refineSub
	msgs := []wire.Message{
		&wire.WeakBatch{Hashes: make([]uint64, 3)},
		&wire.Verdict{Count: 3, Strong: make([][wire.StrongSize]byte, 2)},
		&wire.Refine{Blocks: []wire.RefineBlock{{Weak: make([]uint64, subs), Strong: make([][wire.StrongSize]byte, subs)}}},
		&wire.SubData{Payload: make([]byte, mib/2)}, &wire.SubData{Payload: make([]byte, mib/2-refineSub)},
		// The search's (CapRolling): the sums of the two whole blocks (the
		// last, 1000 bytes, is shorter than an anchor) and a RollEnd each way.
		&wire.RollSums{Count: 3, Anchor: make([]uint64, 2), Weak: make([]uint64, 2), N: make([]uint32, 2)},
		&wire.RollEnd{}, &wire.RollEnd{},
		&wire.StripeEnd{}, &wire.Report{}, &wire.Final{}, &wire.Report{}, &wire.FinalAck{},
	}
	var want int64
	for _, m := range msgs {
		want += int64(wire.FrameHeaderLen + m.Len())
	}
	if st.BlocksRefined != 1 || st.SubBlocksSent != int64(subs-1) || st.BytesSent != mib-refineSub || st.BlocksConfirmed != 2 || st.BytesWire != want || !st.Verified {
		t.Errorf("bytes_wire %d, want %d: %+v", st.BytesWire, want, st)
	}
}

// TestRefineDryRun: a dry run refines (the sender counts what it would
// send) and writes nothing.
func TestRefineDryRun(t *testing.T) {
	checkNoLeak(t)
	src, dst, _ := pagesCase(t)
	old, _ := os.ReadFile(dst)
	p := Params{Session: Session{BlockSize: mib, Workers: 2, DryRun: true}}
	sst, rst := syncCaps(t, src, dst, p, Options{}, wire.AgentCaps)
	checkFile(t, dst, old)
	if sst.BlocksRefined != 4 || sst.SubBlocksSent != 9 || sst.BlocksChanged != 4 || sst.BytesSent != 0 {
		t.Errorf("sender %+v", sst)
	}
	if rst.BlocksRefined != 4 || rst.BlocksChanged != 4 || rst.BytesWritten != 0 {
		t.Errorf("receiver %+v", rst)
	}
}

// TestRefineCacheRecord: a receiver that records reads each refined block
// back once its sub-blocks are written, so the target's record holds its
// real hashes (Scrub finds none differ); a receiver that then trusts the
// record reads a changed block only to refine it.
func TestRefineCacheRecord(t *testing.T) {
	checkNoLeak(t)
	store, err := cache.Open(cache.Options{Dir: filepath.Join(t.TempDir(), "cache")})
	if err != nil {
		t.Fatal(err)
	}
	src, dst, want := pagesCase(t)
	p := Params{Session: Session{BlockSize: mib, Workers: 2}}
	opt := Options{Cache: store}
	st, err := SyncLocal(context.Background(), src, dst, p, opt)
	if err != nil {
		t.Fatal(err)
	}
	checkFile(t, dst, want)
	if st.BlocksRefined != 4 || st.SubBlocksSent != 9 || !st.Verified {
		t.Fatalf("%+v", st)
	}
	f, err := sysio.Open(dst, sysio.ReadOnly, sysio.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	res, err := Scrub(context.Background(), f, store, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Current || res.Blocks != 7 || res.Differ != 0 || res.WeakOnly != 0 {
		t.Fatalf("scrub of the target's record: %+v", res)
	}
	// Change two pages of the source: the receiver takes its hashes from
	// the record and reads just the two blocks it refines; its new record
	// takes their hashes from the copies it patched with their SubData.
	next := append([]byte(nil), want...)
	copy(next[5*mib+8192:], randBytes(77, 8192))
	copy(next[4096:], randBytes(78, 4096))
	if err := os.WriteFile(src, next, 0o644); err != nil {
		t.Fatal(err)
	}
	st, err = SyncLocal(context.Background(), src, dst, p, opt)
	if err != nil {
		t.Fatal(err)
	}
	checkFile(t, dst, next)
	if st.TargetCache != "hit" || st.TargetRead != 2*mib || st.BlocksRefined != 2 || st.SubBlocksSent != 3 || !st.Verified {
		t.Fatalf("second sync: %+v", st)
	}
	if st, err = SyncLocal(context.Background(), src, dst, p, opt); err != nil || st.TargetCache != "hit" || st.TargetRead != 0 || st.SourceRead != 0 {
		t.Fatalf("third sync, nothing changed: %v %+v", err, st)
	}
}

// TestRefineSkippedSubFails: a sender that neither sends nor confirms a
// sub-block of a refined block, and signs off with the digest of what it
// did, fails the sync: the receiver counts every sub-block it offered and
// did not receive as confirmed.
func TestRefineSkippedSubFails(t *testing.T) {
	checkNoLeak(t)
	data := randBytes(50, 2*mib)
	old := append([]byte(nil), data...)
	copy(old[8192:], randBytes(51, 8192))
	copy(old[512<<10:], randBytes(52, 4096))
	_, dst := writeCase(t, syncCase{src: data, dst: old})
	f, err := sysio.Open(dst, sysio.ReadWrite, sysio.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	p, err := Params{Session: Session{BlockSize: mib, Workers: 1}}.Bind(int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	p.Caps = wire.AgentCaps &^ wire.CapRolling // a hand-played refining sender, without the search
	snd, rcv := Pipe()
	errc := make(chan error, 1)
	go func() {
		_, err := Receive(context.Background(), f, p, []Stream{rcv}, Options{})
		errc <- err
	}()
	defer snd.Abort(context.Canceled)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	weak := weakOf(p.Caps)
	must(snd.Send(&wire.WeakBatch{Hashes: []uint64{weak(data[:mib]), weak(data[mib:])}}))
	m, err := snd.Recv()
	must(err)
	v := m.(*wire.Verdict)
	m, err = snd.Recv()
	must(err)
	ref := m.(*wire.Refine)
	if !v.Need[0] || v.Need[1] || len(ref.Blocks) != 1 || ref.Blocks[0].Index != 0 {
		t.Fatalf("verdict %v, refine of %d blocks", v.Need, len(ref.Blocks))
	}
	strong, err := newStrongHasher(p.Strong)
	must(err)
	var dg digest
	dg.addOffered(1, v.Strong[0])
	rb, skipped := ref.Blocks[0], false
	for j := range rb.Weak {
		off := j * refineSub
		part := data[off : off+refineSub]
		if w := weak(part); w == rb.Weak[j] && strong.sum(part) == rb.Strong[j] {
			dg.addSubOffered(0, off, rb.Strong[j])
		} else if !skipped {
			skipped = true // neither sent nor confirmed
		} else {
			dg.addSubSent(0, off, w)
			must(snd.Send(&wire.SubData{Offset: uint32(off), Codec: wire.CodecNone, RawLen: refineSub, Payload: append([]byte(nil), part...)}))
		}
	}
	must(snd.Send(&wire.StripeEnd{Sent: 1, Confirmed: 1}))
	must(snd.Send(&wire.Final{Size: int64(len(data)), Digest: dg.bytes()}))
	if err := <-errc; !errors.Is(err, ErrVerify) {
		t.Fatalf("receiver: %v, want ErrVerify", err)
	}
}

// TestRefineMinBlock: Session.MinBlock sets the sub-block size: at 64 KiB
// the pages case sends the four 64 KiB sub-blocks that hold its changed
// pages (the partial last block, one sub-block, goes whole), at the block
// size nothing is refined; sizes that are no power of two from 4 KiB to
// the block size are refused.
func TestRefineMinBlock(t *testing.T) {
	checkNoLeak(t)
	for _, c := range []struct {
		minBlock            int
		refined, subs, sent int64
	}{
		{64 << 10, 3, 4, 4*65536 + 5000},
		{mib, 0, 0, 3*mib + 5000},
	} {
		src, dst, want := pagesCase(t)
		p := Params{Session: Session{BlockSize: mib, Workers: 2, MinBlock: c.minBlock}}
		sst, rst := syncCaps(t, src, dst, p, Options{}, wire.AgentCaps)
		checkFile(t, dst, want)
		for _, st := range []Stats{sst, rst} {
			if st.BlocksRefined != c.refined || st.SubBlocksSent != c.subs || st.BytesSent != c.sent || st.BlocksChanged != 4 || !st.Verified {
				t.Errorf("min block %d: %+v", c.minBlock, st)
			}
		}
	}
	for _, s := range []Session{{BlockSize: mib, MinBlock: 2 * mib}, {BlockSize: mib, MinBlock: 3 << 10}, {BlockSize: mib, MinBlock: 12 << 10}} {
		if _, err := s.Normalize(); err == nil {
			t.Errorf("block size %d, min block %d: accepted", s.BlockSize, s.MinBlock)
		}
	}
	if s, err := (Session{BlockSize: wire.MinBlockSize}).Normalize(); err != nil || s.MinBlock != wire.MinBlockSize {
		t.Errorf("default min block at the smallest block size: %d, %v", s.MinBlock, err)
	}
}

// TestLanesSettle: the receiver hashes the blocks that look the same and
// the sub-blocks of the blocks it refines together, settling them when
// its read buffers are full, at a batch's end, and before a block whose
// hash needs no hashing (a hole of the target): with 256 KiB blocks a
// batch holds 16 blocks and 4 buffers, so every way of settling happens;
// pread and mappings, 1 and 2 workers. Every block's hash must land where
// it belongs, or the sync would not verify.
func TestLanesSettle(t *testing.T) {
	const bs = 256 << 10
	data := randBytes(50, 40*bs+3000)
	for _, b := range []int{5, 6, 22} { // zero blocks: holes of the target
		clear(data[b*bs : (b+1)*bs])
	}
	old := append([]byte(nil), data...)
	for _, off := range []int{8192, bs + 4096, 7*bs + 12288, 8 * bs, 9*bs + 65536, 23*bs + 100, 31 * bs, 39*bs + 200000} {
		copy(old[off:off+8192], randBytes(uint64(off), 8192))
	}
	for _, path := range []ReadPath{ReadPread, ReadMmap} {
		for _, w := range []int{1, 2} {
			checkNoLeak(t)
			dir := t.TempDir()
			src, dst := filepath.Join(dir, "src"), filepath.Join(dir, "dst")
			if err := os.WriteFile(src, data, 0o644); err != nil {
				t.Fatal(err)
			}
			f, err := os.Create(dst) // the zero blocks left unwritten: holes
			if err != nil {
				t.Fatal(err)
			}
			for b := 0; b*bs < len(old); b++ {
				if b == 5 || b == 6 || b == 22 {
					continue
				}
				if _, err := f.WriteAt(old[b*bs:min((b+1)*bs, len(old))], int64(b*bs)); err != nil {
					t.Fatal(err)
				}
			}
			if err := f.Truncate(int64(len(old))); err != nil {
				t.Fatal(err)
			}
			f.Close()
			p := Params{Session: Session{BlockSize: bs, Workers: w}}
			sst, rst := syncCaps(t, src, dst, p, Options{ReadPath: path}, wire.AgentCaps)
			checkFile(t, dst, data)
			for _, st := range []Stats{sst, rst} {
				if !st.Verified || st.BlocksRefined != 8 || st.BlocksChanged != 8 || st.WeakCollisions != 0 {
					t.Errorf("read path %v, workers %d: %+v", path, w, st)
				}
			}
		}
	}
}
