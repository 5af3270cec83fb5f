package agent

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pdiffagent/pdiffagent/engine"
	"github.com/pdiffagent/pdiffagent/engine/cache"
	"github.com/pdiffagent/pdiffagent/engine/tree"
	"github.com/pdiffagent/pdiffagent/sysio"
	"github.com/pdiffagent/pdiffagent/sysio/sysiotest"
	"github.com/pdiffagent/pdiffagent/wire"
)

// verifiedTree is a tree of two files that keep block-hash records
// (tree.Recorded at treeOptions' 4 KiB blocks) and one that does not.
func verifiedTree(t *testing.T, dir string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Join(dir, "d"), 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "big"), sysiotest.RandomBytes(1, 64<<10))
	writeFile(t, filepath.Join(dir, "d", "big2"), sysiotest.RandomBytes(2, 48<<10))
	writeFile(t, filepath.Join(dir, "small"), sysiotest.RandomBytes(3, 8<<10))
}

// rewriteSame writes p's own bytes again and puts its mtime back: size,
// mtime and content unchanged, but ctime moved, so a record of it is
// stale (a write behind pdiffagent's back, as far as anyone can tell).
func rewriteSame(t *testing.T, p string) {
	t.Helper()
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, p, readFile(t, p))
	if err := os.Chtimes(p, fi.ModTime(), fi.ModTime()); err != nil {
		t.Fatal(err)
	}
}

// treeRun is one tree sync of a verified-skip test: a push of local into
// the server's "dst", or a pull of the server's "src" into local.
type treeRun struct {
	ts        *testServer
	op, trans string
	local     string // the client's tree
	remote    string // the server's tree (beneath its root)
	sessions  int
}

func (r *treeRun) run(t *testing.T, opt tree.Options) tree.Stats {
	t.Helper()
	var (
		st  tree.Stats
		err error
	)
	cfg := r.ts.clientConfig(r.trans)
	if r.op == "push" {
		st, err = PushTree(context.Background(), cfg, r.local+"/", r.ts.remote("dst"), opt)
		sysiotest.TreeEqual(t, r.local, r.remote, sysiotest.TreeOptions{})
	} else {
		st, err = PullTree(context.Background(), cfg, r.ts.remote("src/"), r.local, opt)
		sysiotest.TreeEqual(t, r.remote, r.local, sysiotest.TreeOptions{})
	}
	if err != nil {
		t.Fatalf("%s: %v (%+v)", r.op, err, st.Failed)
	}
	// The server commits its records once the session has ended (a
	// pull's) or its flush was answered (a push's): wait for the end
	// before the next session looks them up.
	r.sessions++
	if !waitFor(20*time.Second, func() bool {
		return strings.Count(r.ts.log.String(), `msg="tree session ended"`) >= r.sessions
	}) {
		t.Fatalf("the server never ended session %d:\n%s", r.sessions, r.ts.log.String())
	}
	return st
}

func newTreeRun(t *testing.T, op, trans string, older wire.Caps) (*treeRun, tree.Options) {
	ts := startServer(t, func(c *ServerConfig) {
		s, err := cache.Open(cache.Options{Dir: filepath.Join(t.TempDir(), "cache")})
		if err != nil {
			t.Fatal(err)
		}
		c.Cache, c.olderCaps = s, older
	})
	cli, err := cache.Open(cache.Options{Dir: filepath.Join(t.TempDir(), "cache")})
	if err != nil {
		t.Fatal(err)
	}
	r := &treeRun{ts: ts, op: op, trans: trans, local: t.TempDir(), remote: filepath.Join(ts.root, "dst")}
	if op == "pull" {
		r.remote = filepath.Join(ts.root, "src")
		verifiedTree(t, r.remote)
	} else {
		verifiedTree(t, r.local)
	}
	opt := treeOptions()
	opt.Engine.Cache = cli
	return r, opt
}

func wantSkips(t *testing.T, what string, st tree.Stats, verified, skipped int64) {
	t.Helper()
	if st.FilesVerified != verified || st.FilesSkipped != skipped || st.FilesChanged != 0 || st.SourceRead != 0 || st.TargetRead != 0 {
		t.Errorf("%s: %d verified, %d skipped, %d changed, read %d/%d; want %d verified, %d skipped, nothing read",
			what, st.FilesVerified, st.FilesSkipped, st.FilesChanged, st.SourceRead, st.TargetRead, verified, skipped)
	}
}

// TestTreeSkipsVerified: over the network, a rerun whose files the quick
// check skips reports as verified those whose copies both hold current
// records with the same digest (the server's in its listing,
// wire.CapTreeRecords), and as skipped the small file, which keeps none;
// a record made stale on either side (a write that kept size and mtime)
// leaves its file skipped, not verified; --no-cache skips every file
// unverified. Push and pull, TCP and QUIC.
func TestTreeSkipsVerified(t *testing.T) {
	if !sysio.CanSyncFS() {
		t.Skip("a tree keeps records only where there is syncfs")
	}
	for _, op := range []string{"push", "pull"} {
		for _, trans := range []string{TransportTCP, TransportQUIC} {
			t.Run(op+"-"+trans, func(t *testing.T) {
				r, opt := newTreeRun(t, op, trans, 0)
				if st := r.run(t, opt); st.FilesChanged != 3 {
					t.Fatalf("first %s: %+v, want 3 files changed", op, st)
				}
				wantSkips(t, "rerun", r.run(t, opt), 2, 1)
				// The server's copy of big, then the client's copy of
				// d/big2, rewritten behind the records' backs.
				rewriteSame(t, filepath.Join(r.remote, "big"))
				wantSkips(t, "server's record stale", r.run(t, opt), 1, 2)
				rewriteSame(t, filepath.Join(r.local, "d", "big2"))
				wantSkips(t, "both sides stale", r.run(t, opt), 0, 3)
				// A run comparing every file records them again.
				o := opt
				o.ChecksumAll = true
				if st := r.run(t, o); st.FilesVerified != 3 {
					t.Fatalf("comparing every file: %+v, want 3 verified", st)
				}
				wantSkips(t, "records made again", r.run(t, opt), 2, 1)
				o = opt
				o.Session.NoCache = true
				wantSkips(t, "--no-cache", r.run(t, o), 0, 3)
			})
		}
	}
}

// TestTreeSkipsOlderServer: a server without wire.CapTreeRecords sends no
// record digests (the client's decoder would refuse them, and the client
// refuses them from a server that did not announce them): a rerun still
// works, every skip unverified.
func TestTreeSkipsOlderServer(t *testing.T) {
	if !sysio.CanSyncFS() {
		t.Skip("a tree keeps records only where there is syncfs")
	}
	for _, op := range []string{"push", "pull"} {
		t.Run(op, func(t *testing.T) {
			r, opt := newTreeRun(t, op, TransportTCP, wire.AgentCaps&^wire.CapTreeRecords)
			r.run(t, opt)
			wantSkips(t, "rerun with an older server", r.run(t, opt), 0, 3)
			if !strings.Contains(r.ts.log.String(), "caps=") || strings.Contains(r.ts.log.String(), "tree-records") {
				t.Errorf("the older server's sessions have tree-records:\n%s", r.ts.log.String())
			}
		})
	}
}

// TestTreeListingOlderClient: a client whose Hello lacks
// wire.CapTreeRecords gets listings without record digests, byte for byte
// what it knows, although the server holds current records; so does one
// that did not ask for them (wire.TreeListRecords).
func TestTreeListingOlderClient(t *testing.T) {
	if !sysio.CanSyncFS() {
		t.Skip("a tree keeps records only where there is syncfs")
	}
	r, opt := newTreeRun(t, "pull", TransportTCP, 0)
	r.run(t, opt) // the server records its files at the session's end
	for _, tc := range []struct {
		caps  wire.Caps
		flags uint8
		want  string
	}{
		{wire.AgentCaps, wire.TreeListRecords, "[big]"},
		{wire.AgentCaps, 0, "[]"}, // not asked for
		{wire.AgentCaps &^ wire.CapTreeRecords, 0, "[]"},
		{wire.AgentCaps &^ wire.CapTreeRecords, wire.TreeListRecords, "[]"}, // asked for, in a session without the bit
	} {
		caps := tc.caps
		ns := helloStream(t, r.ts, &wire.Hello{Version: wire.ProtocolVersion, Caps: caps})
		ns.helloPending = true
		open := &wire.Open{Op: wire.OpTreePull, Path: "src", BlockSize: 4096, Workers: 1, Strong: 1}
		if err := ns.Send(open); err != nil {
			t.Fatal(err)
		}
		if _, err := expect[*wire.OpenReply](ns, time.Now().Add(10*time.Second)); err != nil {
			t.Fatal(err)
		}
		if err := ns.Send(&wire.TreeReq{Op: wire.TreeList, Flags: tc.flags, Path: "."}); err != nil {
			t.Fatal(err)
		}
		m, err := expect[*wire.TreeEntries](ns, time.Now().Add(10*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, e := range m.Entries {
			if e.Record != ([wire.DigestSize]byte{}) {
				got = append(got, e.Name)
			}
		}
		if fmt.Sprint(got) != tc.want {
			t.Errorf("client announcing %v, flags %#x: records for %v, want %s", caps, tc.flags, got, tc.want)
		}
	}
}

// scriptedStream is a server's control stream that sends what a test
// wrote into it, byte for byte, and swallows what the client sends.
type scriptedStream struct{ r *bytes.Reader }

func (s *scriptedStream) Read(p []byte) (int, error)    { return s.r.Read(p) }
func (*scriptedStream) Write(p []byte) (int, error)     { return len(p), nil }
func (*scriptedStream) SetReadDeadline(time.Time) error { return nil }
func (*scriptedStream) closeWrite() error               { return nil }
func (*scriptedStream) abort()                          {}
func (*scriptedStream) release(time.Duration)           {}

// TestTreeListingRecordsHostile: a listing whose record digest sits on an
// entry that is not a regular file, is cut short or has a bad presence
// byte, comes from a server that did not announce wire.CapTreeRecords, or
// was not asked for, is refused with an error that says so, and breaks the session (the
// control stream cannot be trusted after it).
func TestTreeListingRecordsHostile(t *testing.T) {
	rec := [wire.DigestSize]byte{0: 1, 31: 2}
	good := (&wire.TreeEntries{Last: true, Entries: []wire.TreeEntry{
		{Kind: 2, Name: "a"}, {Kind: 1, Name: "b", Size: 1 << 20, Record: rec}}}).Append(nil)
	// b's kind follows the flags, the count, entry "a" and its record's
	// presence byte
	kindB := (&wire.TreeEntries{Entries: []wire.TreeEntry{{Kind: 2, Name: "a"}}}).Len() + 1
	if good[kindB] != 1 {
		t.Fatalf("byte %d is not b's kind", kindB)
	}
	frame := func(payload []byte) []byte {
		return append(binary.BigEndian.AppendUint32(nil, uint32(len(payload))), append([]byte{byte(wire.TypeTreeEntries)}, payload...)...)
	}
	edit := func(f func(b []byte) []byte) []byte { return frame(f(bytes.Clone(good))) }
	for _, tc := range []struct {
		name   string
		frames []byte
		caps   wire.Caps
		want   string
	}{
		{"on a directory", edit(func(b []byte) []byte { b[kindB] = 2; return b }), wire.AgentCaps, "only regular files have records"},
		{"on a symlink", edit(func(b []byte) []byte { b[kindB] = 3; return b }), wire.AgentCaps, "only regular files have records"},
		{"cut short", edit(func(b []byte) []byte { return b[:len(b)-1] }), wire.AgentCaps, "truncated"},
		{"bad presence", edit(func(b []byte) []byte { b[len(b)-wire.DigestSize-1] = 2; return b }), wire.AgentCaps, "record presence 2"},
		{"not announced", frame(good), wire.AgentCaps &^ wire.CapTreeRecords, "which a server without tree-records does not send"},
		{"not asked for", frame(good), wire.AgentCaps, "which the listing did not ask for"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ns := newNetStream(&scriptedStream{bytes.NewReader(tc.frames)}, 0, "scripted")
			ns.caps = tc.caps
			rt := &remoteTarget{c: &clientConn{cfg: ClientConfig{IdleTimeout: time.Minute}, hostport: "hostile"}, ctl: ns,
				p: engine.Params{Session: engine.Session{BlockSize: 4096}}, records: tc.name != "not asked for"}
			rt.p.Caps = tc.caps
			_, err := rt.List(".")
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("List: %v, want an error with %q", err, tc.want)
			}
			if rt.broken == nil {
				t.Error("the session goes on after a hostile listing")
			}
		})
	}
	// The unedited listing is taken, its record with it.
	ns := newNetStream(&scriptedStream{bytes.NewReader(frame(good))}, 0, "scripted")
	ns.caps = wire.AgentCaps
	rt := &remoteTarget{c: &clientConn{cfg: ClientConfig{IdleTimeout: time.Minute}}, ctl: ns, p: engine.Params{}, records: true}
	rt.p.Caps = wire.AgentCaps
	ents, err := listAll(rt, ".")
	if err != nil || len(ents) != 2 || ents[0].Record != nil || ents[1].Record == nil || *ents[1].Record != rec {
		t.Fatalf("good listing: %+v, %v", ents, err)
	}
}
