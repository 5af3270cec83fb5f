//go:build unix

package main

import (
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// joiner is a joining serve --stdio's two pipes: the far ends are what
// the "client" holds.
type joiner struct {
	in, out         *os.File // the joiner's stdin and stdout
	clientW, client *os.File // the client's writing end of in, reading end of out
}

func newJoiner(t *testing.T) *joiner {
	t.Helper()
	inR, inW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { inR.Close(); inW.Close(); outR.Close(); outW.Close() })
	return &joiner{in: inR, out: outW, clientW: inW, client: outR}
}

// TestRendezvous: a token admits one pipe once, by descriptor passing; a
// wrong token, a used one and a joiner with other policy flags are
// refused; the socket goes when the last token is used and when the
// session ends.
func TestRendezvous(t *testing.T) {
	t.Setenv("XDG_RUNTIME_DIR", t.TempDir())
	const policy = "root=/srv\nread-only=true\n"
	rv, toks, err := openRendezvous(3, policy)
	if err != nil {
		t.Fatal(err)
	}
	defer rv.close()
	dir, err := rendezvousDir()
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(dir); err != nil || fi.Mode().Perm() != 0o700 {
		t.Fatalf("rendezvous directory %s: %v, %v", dir, fi.Mode(), err)
	}
	refused := func(what string, tok joinToken, policy string) {
		t.Helper()
		j := newJoiner(t)
		c, err := dialRendezvous(tok, policy, j.in, j.out)
		var re *joinRefusedError
		if !errors.As(err, &re) {
			if c != nil {
				c.Close()
			}
			t.Errorf("%s: %v, want a refusal", what, err)
		}
	}
	wrong := toks[0]
	wrong[len(wrong)-1] ^= 1
	refused("a wrong secret", wrong, policy)
	refused("other policy flags", toks[2], "root=/\n")
	refused("a token used up by other policy flags", toks[2], policy)

	// A good token: the pipe reaches the session, both ways.
	j := newJoiner(t)
	c, err := dialRendezvous(toks[0], policy, j.in, j.out)
	if err != nil {
		t.Fatal(err)
	}
	j.in.Close() // the joiner's copies: the first process has its own
	j.out.Close()
	pipe := <-rv.joins
	if _, err := readJoinReply(j.client, 0); err != nil {
		t.Fatalf("the joined client's answer: %v", err)
	}
	go func(w *os.File) { w.Write([]byte("to the session")); w.Close() }(j.clientW)
	got := make([]byte, len("to the session"))
	if _, err := io.ReadFull(pipe, got); err != nil || string(got) != "to the session" {
		t.Errorf("read through the joined pipe: %q, %v", got, err)
	}
	if _, err := pipe.Write([]byte("to the client")); err != nil {
		t.Fatal(err)
	}
	got = make([]byte, len("to the client"))
	if _, err := io.ReadFull(j.client, got); err != nil || string(got) != "to the client" {
		t.Errorf("written through the joined pipe: %q, %v", got, err)
	}
	pipe.Close()
	refused("a token used twice", toks[0], policy)

	// The last token: the socket goes.
	j = newJoiner(t)
	c2, err := dialRendezvous(toks[1], policy, j.in, j.out)
	if err != nil {
		t.Fatal(err)
	}
	(<-rv.joins).Close()
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Errorf("the socket outlived the last token: %v", ents)
	}
	refused("a join after the last token", toks[1], policy)

	// The end of the session releases the joiners: they see EOF.
	rv.close()
	for _, c := range []io.Reader{c, c2} {
		if n, err := io.Copy(io.Discard, c); n != 0 || err != nil {
			t.Errorf("a joiner after the session: %d bytes, %v", n, err)
		}
	}
}

// TestRendezvousClose: the socket of a session that ends before its joins
// is removed.
func TestRendezvousClose(t *testing.T) {
	t.Setenv("XDG_RUNTIME_DIR", t.TempDir())
	rv, toks, err := openRendezvous(1, "p")
	if err != nil {
		t.Fatal(err)
	}
	dir, _ := rendezvousDir()
	if ents, _ := filepath.Glob(filepath.Join(dir, "*.sock")); len(ents) != 1 {
		t.Fatalf("sockets: %v", ents)
	}
	rv.close()
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Errorf("the socket outlived the session: %v", ents)
	}
	j := newJoiner(t)
	var out bytes.Buffer
	err = joinSession(t.Context(), toks[0], "p", j.in, j.out)
	if !errors.As(err, new(*joinRefusedError)) {
		t.Fatalf("join after the session: %v", err)
	}
	j.out.Close()
	io.Copy(&out, j.client)
	if _, err := readJoinReply(&out, 0); !errors.As(err, new(*joinRefusedError)) {
		t.Errorf("the client's answer: %v", err)
	}
}

// TestRendezvousSweep: a socket whose first process died (nothing
// listens) is removed by the next rendezvous once it is old enough; a live
// one and a young dead one stay.
func TestRendezvousSweep(t *testing.T) {
	t.Setenv("XDG_RUNTIME_DIR", t.TempDir())
	dir, err := rendezvousDir()
	if err != nil {
		t.Fatal(err)
	}
	dead := func(name string, age time.Duration) string {
		path := filepath.Join(dir, name)
		ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
		if err != nil {
			t.Fatal(err)
		}
		ln.SetUnlinkOnClose(false) // as a killed process leaves it
		ln.Close()
		old := time.Now().Add(-age)
		if err := os.Chtimes(path, old, old); err != nil {
			t.Fatal(err)
		}
		return path
	}
	stale, young := dead("stale.sock", 2*staleAge), dead("young.sock", 0)
	live, _, err := openRendezvous(1, "p")
	if err != nil {
		t.Fatal(err)
	}
	defer live.close()
	old := time.Now().Add(-2 * staleAge)
	if err := os.Chtimes(live.ln.Addr().String(), old, old); err != nil {
		t.Fatal(err)
	}
	rv, _, err := openRendezvous(1, "p")
	if err != nil {
		t.Fatal(err)
	}
	defer rv.close()
	for path, want := range map[string]bool{stale: false, young: true, live.ln.Addr().String(): true} {
		if _, err := os.Lstat(path); (err == nil) != want {
			t.Errorf("%s: exists %v, want %v", filepath.Base(path), err == nil, want)
		}
	}
}

// TestRendezvousDirRefused: a rendezvous directory open to others is not used.
func TestRendezvousDirRefused(t *testing.T) {
	base := t.TempDir()
	t.Setenv("XDG_RUNTIME_DIR", base)
	dir, err := rendezvousDir()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	if _, _, err := openRendezvous(1, "p"); err == nil {
		t.Error("a world-writable rendezvous directory was used")
	}
}

// FuzzJoinPreamble: the preamble's readers take any bytes without
// panicking or reading past their message, and round-trip what the
// writers encode.
func FuzzJoinPreamble(f *testing.F) {
	var tok joinToken
	tok[3] = 7
	for _, b := range [][]byte{appendOffer(nil, 2), appendJoin(nil, tok), appendTokens(nil, []joinToken{tok, tok}),
		appendOK(nil), appendRefuse(nil, "no"), {0, 0, 0, 0, 1}} {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		r := bytes.NewReader(b)
		req, err := readJoinRequest(r)
		if err == nil {
			var again []byte
			switch req.op {
			case joinOffer:
				again = appendOffer(nil, req.joins)
			case joinJoin:
				again = appendJoin(nil, req.token)
			default:
				again = req.rest
			}
			if consumed := len(b) - r.Len(); !bytes.Equal(again, b[:consumed]) {
				t.Errorf("request %q re-encodes as %q", b[:consumed], again)
			}
		}
		for k := range 3 {
			readJoinReply(bytes.NewReader(b), k)
		}
	})
}
