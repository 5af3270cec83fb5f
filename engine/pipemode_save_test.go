package engine

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/pdiffagent/pdiffagent/sysio"
	"github.com/pdiffagent/pdiffagent/wire"
)

// stream encodes ms as a stream.
func stream(t *testing.T, ms ...wire.Message) *bytes.Reader {
	var b bytes.Buffer
	for _, m := range ms {
		if err := wire.WriteFrame(&b, m); err != nil {
			t.Fatal(err)
		}
	}
	return bytes.NewReader(b.Bytes())
}

func TestSaveRefusesBadStreams(t *testing.T) {
	checkNoLeak(t)
	hdr := &wire.RetrieveHeader{Size: 3 * testBS, BlockSize: testBS, Strong: uint8(SHA256)}
	block := func(i uint64) *wire.Data {
		return &wire.Data{Block: i, RawLen: testBS, Payload: make([]byte, testBS)}
	}
	end := &wire.RetrieveEnd{Blocks: 3, Sent: 1, Confirmed: 2}
	tests := []struct {
		name string
		in   io.Reader
		want string
	}{
		{"empty", strings.NewReader(""), "no input: `pdiffagent retrieve` sent nothing"},
		{"garbage", strings.NewReader("hello, world\n"), "wire:"},
		{"no header", stream(t, wire.NewHello()), "retrieve stream truncated after 0 blocks"},
		{"wrong stream", stream(t, wire.NewHello(), &wire.ChecksumHeader{BlockSize: testBS, Strong: 1}), "protocol"},
		{"cut", stream(t, wire.NewHello(), hdr, block(1)), "retrieve stream truncated after 1 blocks: rerun to repair"},
		{"order", stream(t, wire.NewHello(), hdr, block(1), block(0), end), "protocol"},
		{"count", stream(t, wire.NewHello(), hdr, end), "1 of 3 blocks sent, 0 of 3 arrived"},
		{"digest", stream(t, wire.NewHello(), hdr, block(1), end), "digest mismatch"},
		{"error", stream(t, wire.NewHello(), hdr, wire.NewError(wire.CodeIO, "disk on fire")), "peer: disk on fire"},
	}
	for _, tt := range tests {
		f, err := sysio.Open(t.TempDir()+"/dst", sysio.Create, sysio.Options{})
		if err != nil {
			t.Fatal(err)
		}
		st, err := Save(context.Background(), f, tt.in, Params{Session: Session{Workers: 2}}, Options{})
		f.Close()
		if err == nil || !strings.Contains(err.Error(), tt.want) || st.Verified {
			t.Errorf("%s: got %v (verified %v), want %q", tt.name, err, st.Verified, tt.want)
		}
	}
}

func TestSaveCancelWhileWaiting(t *testing.T) {
	checkNoLeak(t)
	f, err := sysio.Open(t.TempDir()+"/dst", sysio.Create, sysio.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, w := io.Pipe()
	defer w.Close() // lets the reading goroutine go
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		wire.WriteFrame(w, wire.NewHello())
		cancel()
	}()
	if _, err := Save(ctx, f, r, Params{Session: Session{Workers: 2}}, Options{}); !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want context.Canceled", err)
	}
}
