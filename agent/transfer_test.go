package agent

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/pdiffagent/pdiffagent/engine"
	"github.com/pdiffagent/pdiffagent/wire"
)

var transports = []string{TransportTCP, TransportQUIC}

const testBlock = 4 << 10

// sizeCase is a source and the target it meets.
type sizeCase struct {
	name   string
	src    []byte
	dst    []byte // nil: no target
	noDest bool
}

func sizeCases() []sizeCase {
	big := randomBytes(1, 9*testBlock+123)
	changed := bytes.Clone(big)
	for _, off := range []int{10, 3*testBlock + 7, 9 * testBlock} {
		changed[off] ^= 0xff
	}
	large := randomBytes(8, 1536<<10+17) // hundreds of blocks: many batches per stripe
	largeOld := bytes.Clone(large)
	for off := 5000; off < len(largeOld); off += 97 * testBlock {
		largeOld[off] ^= 0x5a
	}
	return []sizeCase{
		{name: "large", src: large, dst: largeOld},
		{name: "empty", src: []byte{}, dst: randomBytes(2, 100)},
		{name: "one", src: []byte{7}, noDest: true},
		{name: "block-1", src: randomBytes(3, testBlock-1), dst: []byte{}},
		{name: "block", src: randomBytes(4, testBlock), dst: randomBytes(5, testBlock)},
		{name: "block+1", src: randomBytes(6, testBlock+1), dst: randomBytes(6, testBlock)},
		{name: "few-changed", src: big, dst: changed},
		{name: "missing", src: big, noDest: true},
		{name: "smaller", src: big, dst: big[:4*testBlock+5]},
		{name: "larger", src: big, dst: append(bytes.Clone(big), randomBytes(7, 3*testBlock)...)},
		{name: "same", src: big, dst: bytes.Clone(big)},
	}
}

func testParams(workers int, codec wire.Codec) engine.Params {
	return engine.Params{Session: engine.Session{BlockSize: testBlock, Workers: workers, Codec: codec}}
}

func TestPushPull(t *testing.T) {
	checkGoroutines(t)
	ts := startServer(t, nil)
	local := t.TempDir()
	for _, tr := range transports {
		for _, codec := range []wire.Codec{wire.CodecNone, wire.CodecLZ4} {
			for _, c := range sizeCases() {
				for _, op := range []string{"push", "pull"} {
					name := fmt.Sprintf("%s/%s/codec%d/%s", tr, op, codec, c.name)
					t.Run(name, func(t *testing.T) {
						file := fmt.Sprintf("%s-%s-%d-%s", tr, op, codec, c.name)
						srcPath, dstPath := filepath.Join(local, file), filepath.Join(ts.root, file)
						if op == "pull" {
							srcPath, dstPath = dstPath, srcPath
						}
						writeFile(t, srcPath, c.src)
						if !c.noDest {
							writeFile(t, dstPath, c.dst)
						}
						cfg := ts.clientConfig(tr)
						var out Outcome
						var err error
						if op == "push" {
							out, err = Push(context.Background(), cfg, filepath.Join(local, file), ts.remote(file), testParams(3, codec), engine.Options{})
						} else {
							out, err = Pull(context.Background(), cfg, ts.remote(file), filepath.Join(local, file), testParams(3, codec), engine.Options{})
						}
						if err != nil {
							t.Fatal(err)
						}
						if got := readFile(t, dstPath); !bytes.Equal(got, c.src) {
							t.Fatalf("target differs: %d bytes, want %d", len(got), len(c.src))
						}
						if !out.Verified || out.BytesTotal != int64(len(c.src)) || out.Transport != tr || out.Workers != 3 {
							t.Errorf("outcome %+v", out)
						}
						wantConns := 3
						if tr == TransportQUIC {
							wantConns = 2
						}
						if out.Connections != wantConns {
							t.Errorf("%d connections, want %d", out.Connections, wantConns)
						}
					})
				}
			}
		}
	}
	_ = os.Remove
}
