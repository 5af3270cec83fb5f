package engine

import (
	"context"
	"testing"

	"github.com/pdiffagent/pdiffagent/wire"
)

// TestBytesWire checks bytes_wire against the frames a one-worker,
// one-batch sync must exchange, both directions counted once each: a
// WeakBatch, its Verdict with the confirmed blocks' strong hashes, a Data
// frame per changed block, StripeEnd, Final and FinalAck; with the search
// (CapRolling), the RollSums after the Verdict (every block offered: none
// starts with zeros) and a RollEnd each way. bytes_sent stays the payload
// alone.
func TestBytesWire(t *testing.T) {
	checkNoLeak(t)
	const blocks = 20
	src := randBytes(31, blocks*testBS-5)
	s, d := writeCase(t, syncCase{src: src, dst: flip(src, 1, 9*testBS, blocks*testBS-6)})
	st, err := SyncLocal(context.Background(), s, d, Params{Session: Session{BlockSize: testBS, Workers: 1}}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	payload := int64(2*testBS + testBS - 5) // blocks 0, 9 and the short last one
	msgs := []wire.Message{
		&wire.WeakBatch{Hashes: make([]uint64, blocks)},
		&wire.Verdict{Count: blocks, Strong: make([][wire.StrongSize]byte, blocks-3)},
		&wire.RollSums{Count: blocks, Anchor: make([]uint64, blocks), Weak: make([]uint64, blocks), N: make([]uint32, blocks)},
		&wire.Data{Payload: make([]byte, testBS)}, &wire.Data{Payload: make([]byte, testBS)}, &wire.Data{Payload: make([]byte, testBS-5)},
		&wire.RollEnd{}, &wire.RollEnd{},
		&wire.StripeEnd{}, &wire.Report{}, &wire.Final{}, &wire.Report{}, &wire.FinalAck{}, // a Report from each side (cache use)
	}
	var want int64
	for _, m := range msgs {
		want += int64(wire.FrameHeaderLen + m.Len())
	}
	if st.BlocksChanged != 3 || st.BytesSent != payload || st.BytesWire != want {
		t.Errorf("changed %d, bytes_sent %d, bytes_wire %d; want 3, %d, %d", st.BlocksChanged, st.BytesSent, st.BytesWire, payload, want)
	}
}
