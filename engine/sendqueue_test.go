package engine

import (
	"errors"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pdiffagent/pdiffagent/wire"
)

// gatedStream is a sender's end of a Pipe whose Send of Data can be held
// (gate) or made to fail (failAt).
type gatedStream struct {
	Stream
	data   atomic.Int64  // Data messages given to Send so far
	hold   chan struct{} // when not nil, the first Data's Send waits until it is closed
	held   chan struct{} // closed when the first Data's Send is held
	failAt int64         // when > 0, the Send of this Data (1-based) fails
	once   sync.Once
}

var errGated = errors.New("gated stream: send failed")

func (g *gatedStream) Send(m wire.Message) error {
	if _, ok := m.(*wire.Data); ok {
		n := g.data.Add(1)
		if n == g.failAt {
			return errGated
		}
		if n == 1 && g.hold != nil {
			g.once.Do(func() { close(g.held) })
			<-g.hold
		}
	}
	return g.Stream.Send(m)
}

// replacedPair writes a source of n 1-MiB blocks and a target whose
// blocks all differ from it.
func replacedPair(t *testing.T, n int) (src, dst string, want []byte) {
	t.Helper()
	dir := t.TempDir()
	want, old := randBytes(31, n*mib), randBytes(32, n*mib)
	src, dst = filepath.Join(dir, "src"), filepath.Join(dir, "dst")
	if err := os.WriteFile(src, want, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, old, 0o644); err != nil {
		t.Fatal(err)
	}
	return src, dst, want
}

// sendGated runs a session whose sender's streams are wrapped by wrap.
func sendGated(t *testing.T, src, dst string, p Params, wrap func(Stream) Stream) (sendErr, recvErr error) {
	t.Helper()
	ctx := t.Context()
	source, err := OpenSource(LocalOpener{}, src)
	if err != nil {
		t.Fatal(err)
	}
	defer source.File.Close()
	if p, err = p.Bind(source.Size); err != nil {
		t.Fatal(err)
	}
	p.Caps = wire.AgentCaps
	tg, err := OpenTarget(ctx, LocalOpener{}, dst, false, false)
	if err != nil {
		t.Fatal(err)
	}
	sendSide, recvSide := make([]Stream, p.Workers), make([]Stream, p.Workers)
	for i := range sendSide {
		var s Stream
		s, recvSide[i] = Pipe()
		sendSide[i] = wrap(s)
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		_, sendErr = Send(ctx, source, p, sendSide, Options{})
	}()
	var rst Stats
	rst, recvErr = Receive(ctx, tg.File, p, recvSide, Options{})
	wg.Wait()
	if recvErr == nil && sendErr == nil {
		recvErr = tg.Commit()
	}
	tg.Close(errors.Join(sendErr, recvErr), rst)
	return sendErr, recvErr
}

// TestSendQueueDecidesWhileSendWaits: while the stream holds the Send of
// a worker's first block, the worker still decides the blocks after it
// and hands them over, up to its queue, and the sync is exact once the
// stream lets go.
func TestSendQueueDecidesWhileSendWaits(t *testing.T) {
	checkNoLeak(t)
	src, dst, want := replacedPair(t, 8)
	g := &gatedStream{hold: make(chan struct{}), held: make(chan struct{})}
	queued := make(chan struct{})
	var n atomic.Int64
	testHookQueued = func(m wire.Message) {
		if _, ok := m.(*wire.Data); ok && n.Add(1) == int64(1+sendQueueLen(mib)) {
			close(queued) // the held block and a full queue behind it
		}
	}
	t.Cleanup(func() { testHookQueued = nil })
	go func() {
		<-g.held
		select {
		case <-queued:
		case <-time.After(time.Minute): // a failure, not a wait for a state: the test fails below
		}
		close(g.hold)
	}()
	p := Params{Session: Session{BlockSize: mib, Workers: 1, MinBlock: mib}}
	sendErr, recvErr := sendGated(t, src, dst, p, func(s Stream) Stream { g.Stream = s; return g })
	if err := errors.Join(sendErr, recvErr); err != nil {
		t.Fatal(err)
	}
	select {
	case <-queued:
	default:
		t.Fatalf("the worker queued %d blocks while its first one's Send was held, want %d", n.Load(), 1+sendQueueLen(mib))
	}
	checkFile(t, dst, want)
}

// TestSendQueueSendFails: a Send that fails for a block in the queue
// fails the session with the stream's error, on both sides, and no
// goroutine is left behind.
func TestSendQueueSendFails(t *testing.T) {
	checkNoLeak(t)
	src, dst, _ := replacedPair(t, 8)
	p := Params{Session: Session{BlockSize: mib, Workers: 2, MinBlock: mib}}
	sendErr, recvErr := sendGated(t, src, dst, p, func(s Stream) Stream { return &gatedStream{Stream: s, failAt: 3} })
	// The Pipe carries an aborted end's error to the other end, so the
	// receiver may take the sender's error for its own and tell it back
	// before the sender's session ends; a peer's error outranks a broken
	// stream's (rank), so the sender may return that echo. Either way
	// the cause named is the stream's.
	var pe *PeerError
	if !errors.Is(sendErr, errGated) && !(errors.As(sendErr, &pe) && pe.Message == errGated.Error()) {
		t.Errorf("sender: %v, want the stream's error %v", sendErr, errGated)
	}
	if recvErr == nil {
		t.Error("receiver succeeded after the sender failed")
	}
}
