package agent

import (
	"bytes"
	"context"
	"crypto/tls"
	"io"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pdiffagent/pdiffagent/wire"
	"github.com/quic-go/quic-go"
)

// Strangers at the port: garbage, TLS clients without a certificate or with
// an unknown one, handshakes that never finish. Each is refused without
// disturbing the transfers in progress, and learns nothing: no Error frame,
// no path, no root, only what a TLS handshake shows anyone (the server's
// certificate) and an alert.

// attack is what a stranger got back.
type attack struct {
	name  string
	got   []byte        // every byte received (application data, for TLS clients)
	err   error         // how it ended
	after time.Duration // from the first byte sent to the end
}

// drain reads from c until it fails or d passes.
func drain(c net.Conn, d time.Duration) ([]byte, error) {
	c.SetReadDeadline(time.Now().Add(d))
	var got bytes.Buffer
	_, err := io.Copy(&got, c)
	if err == nil {
		err = io.EOF
	}
	return got.Bytes(), err
}

// probe frames: a Hello and an Open for path, as an allowed client would send.
func probeFrames(path string) []byte {
	b := wire.AppendFrame(nil, wire.NewHello())
	return wire.AppendFrame(b, &wire.Open{Op: wire.OpPull, Path: path, BlockSize: testBlock, Workers: 1, Strong: 1})
}

func tcpGarbage(addr string) attack {
	a := attack{name: "tcp garbage"}
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return attack{name: a.name, err: err}
	}
	defer c.Close()
	start := time.Now()
	c.SetWriteDeadline(time.Now().Add(5 * time.Second))
	c.Write(randomBytes(71, 1<<20)) // the server hangs up early: a write error is expected
	a.got, a.err = drain(c, 5*time.Second)
	a.after = time.Since(start)
	return a
}

func udpGarbage(addr string) attack {
	a := attack{name: "udp garbage"}
	c, err := net.Dial("udp", addr)
	if err != nil {
		return attack{name: a.name, err: err}
	}
	defer c.Close()
	junk := randomBytes(72, 1<<20)
	for off := 0; off+1200 <= len(junk); off += 600 {
		d := junk[off : off+1200]
		if off%1200 == 0 {
			d[0] |= 0xc0 // half the datagrams look like QUIC long headers
		}
		c.Write(d)
	}
	buf := make([]byte, 2048)
	c.SetReadDeadline(time.Now().Add(time.Second))
	for {
		n, err := c.Read(buf)
		if err != nil {
			a.err = err
			return a
		}
		a.got = append(a.got, buf[:n]...)
	}
}

// tlsStranger completes its side of the handshake with certs (none, or an
// identity the server does not know), sends an Open for path and reads.
func tlsStranger(name, addr, path string, certs []tls.Certificate) attack {
	a := attack{name: name}
	conf := &tls.Config{MinVersion: tls.VersionTLS13, InsecureSkipVerify: true, NextProtos: []string{alpn}, Certificates: certs}
	start := time.Now()
	c, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", addr, conf)
	if err != nil {
		return attack{name: name, err: err}
	}
	defer c.Close()
	c.Write(probeFrames(path))
	a.got, a.err = drain(c, 5*time.Second)
	a.after = time.Since(start)
	return a
}

func quicStranger(name, addr, path string, certs []tls.Certificate) attack {
	a := attack{name: name}
	conf := &tls.Config{MinVersion: tls.VersionTLS13, InsecureSkipVerify: true, NextProtos: []string{alpn}, Certificates: certs}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := quic.DialAddr(ctx, addr, conf, &quic.Config{HandshakeIdleTimeout: 5 * time.Second})
	if err != nil {
		return attack{name: name, err: err}
	}
	defer c.CloseWithError(0, "")
	st, err := c.OpenStreamSync(ctx)
	if err != nil {
		return attack{name: name, err: err}
	}
	st.Write(probeFrames(path))
	st.SetReadDeadline(time.Now().Add(5 * time.Second))
	var got bytes.Buffer
	_, a.err = io.Copy(&got, st)
	a.got = got.Bytes()
	return a
}

// stall opens a TCP connection, sends first (maybe nothing) and waits for
// the server to hang up.
func stall(name, addr string, first []byte) attack {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return attack{name: name, err: err}
	}
	defer c.Close()
	start := time.Now()
	c.Write(first)
	got, err := drain(c, 20*time.Second)
	return attack{name: name, got: got, err: err, after: time.Since(start)}
}

// clientHello is the first flight of a TLS 1.3 client to the server.
func clientHello(t *testing.T) []byte {
	t.Helper()
	a, b := net.Pipe()
	defer a.Close()
	_, cid, _ := ids()
	go tls.Client(a, &tls.Config{MinVersion: tls.VersionTLS13, InsecureSkipVerify: true, NextProtos: []string{alpn},
		Certificates: []tls.Certificate{cid.Certificate()}}).Handshake()
	hdr := make([]byte, 5)
	if _, err := io.ReadFull(b, hdr); err != nil {
		t.Fatal(err)
	}
	rec := make([]byte, int(hdr[3])<<8|int(hdr[4]))
	if _, err := io.ReadFull(b, rec); err != nil {
		t.Fatal(err)
	}
	b.Close()
	return append(hdr, rec...)
}

func TestStrangersAtThePort(t *testing.T) {
	checkGoroutines(t)
	const handshake = 2 * time.Second
	ts := startServer(t, func(c *ServerConfig) { c.HandshakeTimeout = handshake })
	_, _, stranger := ids()
	writeFile(t, filepath.Join(ts.root, "exists"), randomBytes(73, testBlock))

	// Transfers in progress over both transports, held mid-way.
	var pushes []<-chan error
	var gates []*gate
	data := randomBytes(74, 24*testBlock)
	for _, tr := range transports {
		g := newGate(2)
		gates = append(gates, g)
		pushes = append(pushes, held(t, context.Background(), ts, tr, "busy-"+tr, data, g))
	}

	hello := clientHello(t)
	unknown := []tls.Certificate{stranger.Certificate()}
	attacks := []func() attack{
		func() attack { return tcpGarbage(ts.Addr()) },
		func() attack { return udpGarbage(ts.Addr()) },
		func() attack { return tlsStranger("tls without certificate", ts.Addr(), "exists", nil) },
		func() attack { return tlsStranger("tls unknown certificate", ts.Addr(), "exists", unknown) },
		func() attack {
			return tlsStranger("tls unknown certificate, missing path", ts.Addr(), "missing", unknown)
		},
		func() attack { return quicStranger("quic without certificate", ts.Addr(), "exists", nil) },
		func() attack { return quicStranger("quic unknown certificate", ts.Addr(), "exists", unknown) },
		func() attack { return stall("silent tcp", ts.Addr(), nil) },
		func() attack { return stall("half a ClientHello", ts.Addr(), hello[:len(hello)/2]) },
		func() attack { return stall("ClientHello, no Finished", ts.Addr(), hello) },
	}
	for range 20 { // a crowd of silent connections
		attacks = append(attacks, func() attack { return stall("silent tcp (crowd)", ts.Addr(), nil) })
	}
	results := make([]attack, len(attacks))
	var wg sync.WaitGroup
	for i, f := range attacks {
		wg.Add(1)
		go func() { defer wg.Done(); results[i] = f() }()
	}
	// Meanwhile a new session works too.
	mustPush(t, ts, TransportTCP, "during", randomBytes(75, 5*testBlock))
	wg.Wait()

	byName := map[string]attack{}
	for _, a := range results {
		byName[a.name] = a
		t.Logf("%s: %d bytes back, after %v: %v", a.name, len(a.got), a.after.Round(time.Millisecond), a.err)
		for _, secret := range []string{ts.root, "exists", "missing", "busy-", "no such file", "PDFA"} {
			if bytes.Contains(a.got, []byte(secret)) {
				t.Errorf("%s: the server revealed %q", a.name, secret)
			}
		}
		if strings.HasPrefix(a.name, "tls") || strings.HasPrefix(a.name, "quic") {
			if len(a.got) != 0 || a.err == nil {
				t.Errorf("%s: got %d bytes of application data, err %v; want a refusal and nothing else", a.name, len(a.got), a.err)
			}
		}
		if strings.HasPrefix(a.name, "silent") || strings.HasPrefix(a.name, "half") || strings.HasPrefix(a.name, "ClientHello") {
			// Dropped at all, before the attacker's 20 s patience ends;
			// the slack over the timeout is for a loaded machine.
			if isTimeout(a.err) || a.after > handshake+10*time.Second {
				t.Errorf("%s: not dropped within the handshake timeout (%v): after %v, %v", a.name, handshake, a.after, a.err)
			}
		}
	}
	// A stranger cannot tell an existing path from a missing one.
	if e1, e2 := byName["tls unknown certificate"].err, byName["tls unknown certificate, missing path"].err; e1 == nil || e2 == nil || e1.Error() != e2.Error() {
		t.Errorf("refusals differ by path: %v / %v", e1, e2)
	}

	for _, g := range gates {
		close(g.open)
	}
	for i, errc := range pushes {
		if err := <-errc; err != nil {
			t.Fatalf("transfer in progress (%s) failed: %v", transports[i], err)
		}
		if got := readFile(t, filepath.Join(ts.root, "busy-"+transports[i])); !bytes.Equal(got, data) {
			t.Fatalf("transfer in progress (%s): target differs", transports[i])
		}
	}
	log := ts.log.String()
	// Who was refused: one line per TLS or QUIC stranger.
	for want, n := range map[string]int{
		"refused client " + stranger.Fingerprint() + " from 127.0.0.1:": 3,
		"refused client (no certificate) from 127.0.0.1:":               2,
	} {
		if got := strings.Count(log, want); got != n {
			t.Errorf("server log has %q %d times, want %d", want, got, n)
		}
	}
	mustPush(t, ts, TransportQUIC, "after", randomBytes(76, 5*testBlock))
}
