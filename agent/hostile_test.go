package agent

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"io"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pdiffagent/pdiffagent/engine"
	"github.com/pdiffagent/pdiffagent/wire"
)

// Hostile authenticated clients: an allowed identity that speaks the
// protocol by hand and breaks it. The server must refuse every frame that
// names a block outside the file, the negotiated range or the stripe, or a
// length other than the block's, before anything is written; report it to
// the client, end the session, log who did it, and keep serving.

// rawSession opens a session by hand: control stream, Open, OpenReply.
func rawSession(t *testing.T, ts *testServer, tr string, o *wire.Open) *netStream {
	t.Helper()
	if _, err := rand.Read(o.SessionID[:]); err != nil {
		t.Fatal(err)
	}
	ns := rawStream(t, ts, tr)
	if err := ns.Send(o); err != nil {
		t.Fatal(err)
	}
	if _, err := expect[*wire.OpenReply](ns, time.Now().Add(5*time.Second)); err != nil {
		t.Fatal(err)
	}
	return ns
}

// rawOpen is the Open of a one-worker session on path for a file of size
// bytes in testBlock blocks.
func rawOpen(t *testing.T, op wire.Op, path string, size int64, wholeFile bool) *wire.Open {
	t.Helper()
	p, err := engine.Params{Session: engine.Session{BlockSize: testBlock, Workers: 1, WholeFile: wholeFile}}.Bind(size)
	if err != nil {
		t.Fatal(err)
	}
	o := openMessage(op, path, p)
	if op == wire.OpPush {
		o.Size = size
	}
	return o
}

// wantDisconnect reads from ns until the stream ends, which it must within
// a few seconds. The server's Error must come first, have code and mention
// words. The server's log line is checked by the caller.
func wantDisconnect(t *testing.T, ns *netStream, code uint16, words string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	ns.bs.SetReadDeadline(deadline)
	told := false
	for {
		m, err := ns.Recv()
		if err != nil {
			if isTimeout(err) {
				t.Fatalf("server did not end the stream: %v", err)
			}
			if !told {
				t.Errorf("stream ended without the server's reason: %v", err)
			}
			return
		}
		if e, ok := m.(*wire.Error); ok && !told {
			told = true
			if e.Code != code || !strings.Contains(e.Message, words) {
				t.Errorf("server said %q (code %d); want code %d mentioning %q", e.Message, e.Code, code, words)
			}
		}
	}
}

// block is one full Data frame for block i.
func block(i uint64, n int) *wire.Data {
	return &wire.Data{Block: i, RawLen: uint32(n), Payload: randomBytes(i+100, n)}
}

func TestHostileFrames(t *testing.T) {
	checkGoroutines(t)
	const blocks = 3
	cases := []struct {
		name      string
		op        wire.Op
		wholeFile bool
		ranged    bool      // the session covers block 1 only (Open's Start and End)
		await     wire.Type // read up to a message of this type first (0: none)
		send      []wire.Message
		code      uint16
		words     string // in the Error the client gets and in the server's log
	}{
		{"block outside the negotiated range", wire.OpPush, true, true, 0, []wire.Message{block(0, testBlock)},
			wire.CodeBadRequest, "Data for block 0 outside the decided part of stripe [1,2)"},
		{"block beyond the file", wire.OpPush, true, false, 0, []wire.Message{block(blocks, testBlock)},
			wire.CodeBadRequest, "Data for block 3 outside the decided part of stripe [0,3)"},
		{"offset far beyond the file", wire.OpPush, true, false, 0, []wire.Message{block(1<<61, testBlock)},
			wire.CodeBadRequest, "outside the decided part"},
		{"short block", wire.OpPush, true, false, 0, []wire.Message{block(1, testBlock-1)},
			wire.CodeBadRequest, "Data for block 1 holds 4095 bytes, want 4096"},
		{"length beyond the block size", wire.OpPush, true, false, 0, []wire.Message{block(0, 2*testBlock)},
			wire.CodeBadRequest, "Data: payload length 8209 exceeds maximum 4113"},
		{"compressed beyond the block size", wire.OpPush, true, false, 0,
			[]wire.Message{&wire.Data{Block: 0, Codec: wire.CodecLZ4, RawLen: 1 << 20, Payload: []byte{1}}},
			wire.CodeBadRequest, "raw length 1048576 exceeds maximum 4096"},
		{"data before its verdict", wire.OpPush, false, false, 0, []wire.Message{block(0, testBlock)},
			wire.CodeBadRequest, "Data for block 0 outside the decided part"},
		{"batch beyond the stripe", wire.OpPush, false, false, 0, []wire.Message{&wire.WeakBatch{First: 2, Hashes: []uint64{1, 2}}},
			wire.CodeBadRequest, "WeakBatch for blocks 2+2"},
		{"verdict for other blocks", wire.OpPull, false, false, wire.TypeWeakBatch,
			[]wire.Message{&wire.Verdict{First: 7, Count: 1, Need: []bool{true}}},
			wire.CodeBadRequest, "verdict for blocks 7+1, want 0+3"},
	}
	for _, tr := range transports {
		t.Run(tr, func(t *testing.T) {
			ts := startServer(t, nil)
			victim := filepath.Join(ts.root, "victim")
			old := randomBytes(61, blocks*testBlock)
			writeFile(t, victim, old)
			_, cid, _ := ids()
			for _, c := range cases {
				t.Run(strings.ReplaceAll(c.name, " ", "-"), func(t *testing.T) {
					o := rawOpen(t, c.op, "victim", int64(len(old)), c.wholeFile)
					if c.ranged {
						o.Start, o.End = testBlock, 2*testBlock
					}
					ns := rawSession(t, ts, tr, o)
					for c.await != 0 {
						m, err := ns.Recv()
						if err != nil {
							t.Fatal(err)
						}
						if m.Type() == c.await {
							break
						}
					}
					for _, m := range c.send {
						if err := ns.Send(m); err != nil {
							t.Fatal(err)
						}
					}
					wantDisconnect(t, ns, c.code, c.words)
					if !waitFor(time.Minute, func() bool { return ts.activeSessions() == 0 }) {
						t.Fatal("the session is still running")
					}
					if got := readFile(t, victim); !bytes.Equal(got, old) {
						t.Fatal("the target changed")
					}
				})
			}
			// One clear line per violation: who, from where, what.
			const violation = "client broke the protocol; disconnected"
			waitFor(time.Minute, func() bool { return strings.Count(ts.log.String(), violation) >= len(cases) })
			lines := 0
			for _, l := range strings.Split(ts.log.String(), "\n") {
				if strings.Contains(l, violation) {
					lines++
					if !strings.Contains(l, "client="+cid.Fingerprint()) || !strings.Contains(l, "addr=127.0.0.1:") ||
						!strings.Contains(l, "path=victim") || strings.Contains(l, ts.root) {
						t.Errorf("unclear log line: %s", l)
					}
				}
			}
			if lines != len(cases) {
				t.Errorf("%d protocol violations logged, want %d:\n%s", lines, len(cases), ts.log.String())
			}
			for _, c := range cases {
				if !strings.Contains(ts.log.String(), c.words) {
					t.Errorf("server log lacks %q", c.words)
				}
			}
			mustPush(t, ts, tr, "victim", randomBytes(62, 5*testBlock+3))
		})
	}
}

// TestHostileOpening: an authenticated client whose first frame is not a
// valid Open or Attach, or who sends a broken frame while its session is
// still gathering its workers, is dropped with a log line.
func TestHostileOpening(t *testing.T) {
	checkGoroutines(t)
	ts := startServer(t, nil)
	for _, tr := range transports {
		ns := rawStream(t, ts, tr)
		// A frame header announcing a Hello far larger than any Hello.
		if _, err := ns.bs.Write([]byte{0, 0, 1, 0, byte(wire.TypeHello)}); err != nil {
			t.Fatal(err)
		}
		ns.bs.SetReadDeadline(time.Now().Add(5 * time.Second))
		for {
			if _, err := ns.Recv(); err != nil {
				if errors.Is(err, io.EOF) || !isTimeout(err) {
					break
				}
				t.Fatalf("%s: server kept the stream open: %v", tr, err)
			}
		}
	}
	want := "dropped stream: client broke the protocol"
	if !waitFor(time.Minute, func() bool { return strings.Count(ts.log.String(), want) == len(transports) }) {
		t.Errorf("server log lacks %q twice:\n%s", want, ts.log.String())
	}

	// A block larger than the session's on the control stream, before the
	// other workers attached: the limit already holds there.
	for _, tr := range transports {
		// A path per transport: the first session's file may still be
		// locked while the server cleans up after telling the client.
		o := rawOpen(t, wire.OpPush, "f-"+tr, 8*testBlock, true)
		o.Workers = 3
		ns := rawSession(t, ts, tr, o)
		if err := ns.Send(block(0, 2*testBlock)); err != nil {
			t.Fatal(err)
		}
		wantDisconnect(t, ns, wire.CodeBadRequest, "payload length 8209 exceeds maximum 4113")
	}
	want = "session failed: client broke the protocol; disconnected"
	if !waitFor(time.Minute, func() bool { return strings.Count(ts.log.String(), want) == len(transports) }) {
		t.Errorf("server log lacks %q twice:\n%s", want, ts.log.String())
	}
}

// mustPush pushes data to ts's path and checks the result.
func mustPush(t *testing.T, ts *testServer, tr, path string, data []byte) {
	t.Helper()
	src := filepath.Join(t.TempDir(), "src")
	writeFile(t, src, data)
	if _, err := Push(context.Background(), ts.clientConfig(tr), src, ts.remote(path), testParams(2, 0), engine.Options{}); err != nil {
		t.Fatalf("push after the hostile client: %v", err)
	}
	if got := readFile(t, filepath.Join(ts.root, path)); !bytes.Equal(got, data) {
		t.Fatal("push after the hostile client: target differs")
	}
}

func isTimeout(err error) bool {
	var te interface{ Timeout() bool }
	return errors.As(err, &te) && te.Timeout()
}
