package engine

import (
	"context"
	"errors"
	"os"
	"sync"
	"testing"

	"github.com/pdiffagent/pdiffagent/sysio"
	"github.com/pdiffagent/pdiffagent/wire"
)

// tamper corrupts the payload of the n-th Data message that passes.
type tamper struct {
	Stream
	n, seen int
}

func (t *tamper) Recv() (wire.Message, error) {
	m, err := t.Stream.Recv()
	if d, ok := m.(*wire.Data); ok && d.Codec == wire.CodecNone {
		if t.seen == t.n {
			d.Payload[len(d.Payload)/2] ^= 1
		}
		t.seen++
	}
	return m, err
}

// A block corrupted between the sender's read and the receiver's write
// (here: in transit, where TLS would have caught it) is caught by the
// end-to-end digest on both sides: the sync fails instead of succeeding.
func TestDigestCatchesCorruption(t *testing.T) {
	checkNoLeak(t)
	src := randBytes(30, 12*testBS)
	s, d := writeCase(t, syncCase{src: src, dst: flip(src, 5, 6*testBS)})
	sf, err := sysio.Open(s, sysio.ReadOnly, sysio.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer sf.Close()
	df, err := sysio.Open(d, sysio.ReadWrite, sysio.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer df.Close()
	source, _ := NewSource(sf)
	p, _ := Params{Session: Session{BlockSize: testBS, Workers: 1}}.Bind(source.Size)
	a, b := Pipe()
	var wg sync.WaitGroup
	var sendErr error
	wg.Add(1)
	go func() {
		defer wg.Done()
		_, sendErr = Send(context.Background(), source, p, []Stream{a}, Options{})
	}()
	_, recvErr := Receive(context.Background(), df, p, []Stream{&tamper{Stream: b, n: 1}}, Options{})
	wg.Wait()
	if !errors.Is(recvErr, ErrVerify) {
		t.Errorf("receiver: err = %v, want ErrVerify", recvErr)
	}
	var pe *PeerError
	if !errors.As(sendErr, &pe) || pe.Code != wire.CodeVerify {
		t.Errorf("sender: err = %v, want the receiver's verification error", sendErr)
	}
	if _, err := os.Stat(d); err != nil {
		t.Fatal(err)
	}
}
