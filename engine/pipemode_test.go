package engine

import (
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/pdiffagent/pdiffagent/sysio"
	"github.com/pdiffagent/pdiffagent/wire"
)

// pipeRun is the outcome of checksum | retrieve | save.
type pipeRun struct {
	sumErr, retErr, saveErr error
	ret, save               Stats
	sumBytes, dataBytes     int64 // what crossed each pipe
}

// countWriter counts what it passes on.
type countWriter struct {
	w io.Writer
	n *int64
}

func (c countWriter) Write(b []byte) (int, error) {
	n, err := c.w.Write(b)
	*c.n += int64(n)
	return n, err
}

// cutWriter passes on the first left bytes, then closes the pipe: a
// connection cut mid-stream.
type cutWriter struct {
	w    *io.PipeWriter
	left int
}

var errCut = errors.New("cut")

func (c *cutWriter) Write(b []byte) (int, error) {
	if len(b) <= c.left {
		c.left -= len(b)
		return c.w.Write(b)
	}
	n, _ := c.w.Write(b[:c.left])
	c.left = 0
	c.w.Close()
	return n, errCut
}

// runPipe runs the three stages over io.Pipes, as the shell would over OS
// pipes: each pipe closes when its writer ends or its reader goes away.
// cutSums and cutData (when > 0) cut a stream after that many bytes.
func runPipe(t *testing.T, src, dst string, p Params, opt Options, cutSums, cutData int) pipeRun {
	t.Helper()
	ctx := context.Background()
	var run pipeRun
	sf, err := sysio.Open(src, sysio.ReadOnly, sysio.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer sf.Close()
	source, err := NewSource(sf)
	if err != nil {
		t.Fatal(err)
	}
	old, err := sysio.Open(dst, sysio.ReadOnly, sysio.Options{})
	if errors.Is(err, fs.ErrNotExist) {
		old = nil
	} else if err != nil {
		t.Fatal(err)
	} else {
		defer old.Close()
	}
	sumR, sumW := io.Pipe()
	dataR, dataW := io.Pipe()
	var sumOut, dataOut io.Writer = sumW, dataW
	if cutSums > 0 {
		sumOut = &cutWriter{w: sumW, left: cutSums}
	}
	if cutData > 0 {
		dataOut = &cutWriter{w: dataW, left: cutData}
	}
	sumOut, dataOut = countWriter{sumOut, &run.sumBytes}, countWriter{dataOut, &run.dataBytes}
	var wg sync.WaitGroup
	wg.Add(3)
	go func() {
		defer wg.Done()
		run.sumErr = Checksum(ctx, old, p, sumOut, opt)
		sumW.Close()
	}()
	go func() {
		defer wg.Done()
		run.ret, run.retErr = Retrieve(ctx, source, sumR, dataOut, p, opt)
		sumR.Close()
		dataW.Close()
	}()
	go func() {
		defer wg.Done()
		defer dataR.Close()
		df, err := sysio.Open(dst, sysio.Create, sysio.Options{})
		if err != nil {
			run.saveErr = err
			return
		}
		defer df.Close()
		run.save, run.saveErr = Save(ctx, df, dataR, p, opt)
	}()
	wg.Wait()
	return run
}

func checkSame(t *testing.T, dst string, want []byte) {
	t.Helper()
	got, err := os.ReadFile(dst)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("target differs from source (len %d vs %d)", len(got), len(want))
	}
}

func TestPipeCases(t *testing.T) {
	for _, workers := range []int{1, 3} {
		for _, c := range cases() {
			t.Run(c.name, func(t *testing.T) {
				checkNoLeak(t)
				src, dst := writeCase(t, c)
				run := runPipe(t, src, dst, Params{Session: Session{BlockSize: testBS, Workers: workers}}, Options{}, 0, 0)
				if run.sumErr != nil || run.retErr != nil || run.saveErr != nil {
					t.Fatalf("checksum: %v; retrieve: %v; save: %v", run.sumErr, run.retErr, run.saveErr)
				}
				checkSame(t, dst, c.src)
				if run.ret.BytesWire != run.sumBytes+run.dataBytes || run.save.BytesWire != run.dataBytes || run.dataBytes == 0 {
					t.Errorf("bytes_wire: retrieve %d, save %d; the pipes carried %d and %d",
						run.ret.BytesWire, run.save.BytesWire, run.sumBytes, run.dataBytes)
				}
				st, want := run.save, c.changed
				if len(c.dst) > len(c.src) && len(c.src)%testBS != 0 {
					// Checksum cannot know where the source ends: the source's
					// short last block never matches the target's full one.
					want++
				}
				if c.changed >= 0 && (st.BlocksChanged != want || run.ret.BlocksChanged != want) {
					t.Errorf("blocks changed: save %d, retrieve %d, want %d", st.BlocksChanged, run.ret.BlocksChanged, want)
				}
				if !st.Verified || st.BlocksChanged+st.BlocksConfirmed != st.BlocksTotal {
					t.Errorf("save stats %+v", st)
				}
			})
		}
	}
}

func TestPipeCompressionAndZeros(t *testing.T) {
	checkNoLeak(t)
	src := bytes.Repeat([]byte("compressible "), 20*testBS/13+1)[:20*testBS]
	src = append(src, make([]byte, 4*testBS)...)    // zero blocks: sent without payload
	src = append(src, randBytes(3, 2*testBS+17)...) // incompressible: sent as is
	dst := flip(src, 10, 5*testBS+1, len(src)-testBS-3, len(src)-1)
	srcPath, dstPath := writeCase(t, syncCase{src: src, dst: dst})
	run := runPipe(t, srcPath, dstPath, Params{Session: Session{BlockSize: testBS, Workers: 2, Codec: wire.CodecLZ4}}, Options{}, 0, 0)
	if run.saveErr != nil || run.retErr != nil {
		t.Fatalf("retrieve: %v; save: %v", run.retErr, run.saveErr)
	}
	checkSame(t, dstPath, src)
	st := run.save
	if st.BlocksChanged != 4 || st.BlocksZero != 0 || st.BytesSent >= 4*testBS {
		t.Errorf("4 changed blocks, 2 compressible: %+v", st)
	}
	// A missing target: the zero blocks go without payload.
	os.Remove(dstPath)
	run = runPipe(t, srcPath, dstPath, Params{Session: Session{BlockSize: testBS, Workers: 2, Codec: wire.CodecLZ4}}, Options{}, 0, 0)
	if run.saveErr != nil {
		t.Fatal(run.saveErr)
	}
	checkSame(t, dstPath, src)
	if run.save.BlocksZero != 4 || run.ret.BlocksZero != 4 {
		t.Errorf("zero blocks: save %d, retrieve %d, want 4", run.save.BlocksZero, run.ret.BlocksZero)
	}
}

func TestPipeForcedWeakCollision(t *testing.T) {
	checkNoLeak(t)
	src := randBytes(11, 12*testBS+5)
	srcPath, dstPath := writeCase(t, syncCase{src: src, dst: flip(src, 3*testBS, 7*testBS+2, len(src)-1)})
	opt := Options{Weak: func([]byte) uint64 { return 42 }} // every block looks equal at tier 1
	run := runPipe(t, srcPath, dstPath, Params{Session: Session{BlockSize: testBS, Workers: 3}}, opt, 0, 0)
	if run.saveErr != nil || run.retErr != nil {
		t.Fatalf("retrieve: %v; save: %v", run.retErr, run.saveErr)
	}
	checkSame(t, dstPath, src)
	if st := run.save; st.WeakCollisions != 3 || st.BlocksChanged != 3 || !st.Verified {
		t.Errorf("want 3 collisions caught by the strong hash: %+v", st)
	}
}

func TestPipeCutAndRerun(t *testing.T) {
	src := randBytes(21, 64*testBS+100)
	for _, cut := range []int{3, 40, 9*testBS + 5, 30 * testBS} {
		checkNoLeak(t)
		srcPath, dstPath := writeCase(t, syncCase{src: src, dst: randBytes(22, 20*testBS)})
		p := Params{Session: Session{BlockSize: testBS, Workers: 3}}
		run := runPipe(t, srcPath, dstPath, p, Options{}, 0, cut)
		var te *TruncatedError
		if !errors.As(run.saveErr, &te) || te.Stream != "retrieve" || !strings.Contains(run.saveErr.Error(), "stream truncated after") {
			t.Fatalf("cut after %d bytes: save says %v, want a truncated stream", cut, run.saveErr)
		}
		if run.retErr == nil || run.save.Verified {
			t.Errorf("cut after %d bytes: retrieve %v, save verified %v", cut, run.retErr, run.save.Verified)
		}
		if run = runPipe(t, srcPath, dstPath, p, Options{}, 0, 0); run.saveErr != nil {
			t.Fatalf("rerun: %v", run.saveErr)
		}
		checkSame(t, dstPath, src)
	}
}

func TestPipeChecksumCut(t *testing.T) {
	checkNoLeak(t)
	src := randBytes(31, 40*testBS)
	srcPath, dstPath := writeCase(t, syncCase{src: src, dst: flip(src, 1)})
	run := runPipe(t, srcPath, dstPath, Params{Session: Session{BlockSize: testBS, Workers: 2}}, Options{}, 500, 0)
	var te *TruncatedError
	if !errors.As(run.retErr, &te) || te.Stream != "checksum" {
		t.Fatalf("retrieve: %v, want the checksum stream truncated", run.retErr)
	}
	// Save hears why from retrieve rather than seeing a cut.
	var pe *PeerError
	if !errors.As(run.saveErr, &pe) || !strings.Contains(pe.Message, "checksum stream truncated") {
		t.Fatalf("save: %v", run.saveErr)
	}
}

func TestPipeRange(t *testing.T) {
	checkNoLeak(t)
	src := randBytes(41, 30*testBS+9)
	old := randBytes(42, 40*testBS)
	srcPath, dstPath := writeCase(t, syncCase{src: src, dst: old})
	p := Params{Session: Session{BlockSize: testBS, Workers: 2}, File: File{Start: 4 * testBS, End: 12 * testBS}}
	run := runPipe(t, srcPath, dstPath, p, Options{}, 0, 0)
	if run.saveErr != nil || run.retErr != nil {
		t.Fatalf("retrieve: %v; save: %v", run.retErr, run.saveErr)
	}
	want := append(append(append([]byte(nil), old[:4*testBS]...), src[4*testBS:12*testBS]...), old[12*testBS:]...)
	checkSame(t, dstPath, want)
	if st := run.save; st.BlocksTotal != 8 || st.BlocksChanged != 8 {
		t.Errorf("stats %+v", st)
	}
	// To the end of the source from Start: a ranged sync never shrinks.
	p.End = 0
	if run = runPipe(t, srcPath, dstPath, p, Options{}, 0, 0); run.saveErr != nil {
		t.Fatal(run.saveErr)
	}
	want = append(append(want[:4*testBS:4*testBS], src[4*testBS:]...), old[len(src):]...)
	checkSame(t, dstPath, want)
	// A range past the source's end is refused.
	p.Start, p.End = 0, 64*testBS
	if run = runPipe(t, srcPath, dstPath, p, Options{}, 0, 0); run.retErr == nil || run.saveErr == nil {
		t.Fatalf("range past the source: retrieve %v, save %v", run.retErr, run.saveErr)
	}
}
