package agent

import (
	"context"
	"crypto/tls"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pdiffagent/pdiffagent/engine"
)

// tryPush pushes a small file to ts as "f" with cfg.
func tryPush(t *testing.T, ts *testServer, cfg ClientConfig) error {
	t.Helper()
	src := filepath.Join(t.TempDir(), "src")
	writeFile(t, src, randomBytes(9, 3*testBlock))
	_, err := Push(context.Background(), cfg, src, ts.remote("f"), testParams(2, 0), engine.Options{})
	return err
}

func TestPinning(t *testing.T) {
	checkGoroutines(t)
	sid, _, stranger := ids()
	for _, tr := range transports {
		t.Run(tr, func(t *testing.T) {
			ts := startServer(t, nil)

			t.Run("wrong pin", func(t *testing.T) {
				cfg := ts.clientConfig(tr)
				cfg.Pin = stranger.Fingerprint()
				err := tryPush(t, ts, cfg)
				if !errors.Is(err, ErrPinMismatch) || !strings.Contains(err.Error(), sid.Fingerprint()) ||
					!strings.Contains(err.Error(), stranger.Fingerprint()) {
					t.Errorf("err = %v; want a pin mismatch naming both fingerprints", err)
				}
			})

			t.Run("unknown client", func(t *testing.T) {
				cfg := ts.clientConfig(tr)
				cfg.Identity = stranger
				err := tryPush(t, ts, cfg)
				if err == nil || !strings.Contains(err.Error(), "refused this client") ||
					!strings.Contains(err.Error(), stranger.Fingerprint()) {
					t.Errorf("err = %v; want a refusal naming the client's fingerprint", err)
				}
				want := "refused client " + stranger.Fingerprint() + " from 127.0.0.1:"
				if !waitFor(time.Minute, func() bool { return strings.Contains(ts.log.String(), want) }) {
					t.Errorf("server log lacks %q:\n%s", want, ts.log.String())
				}
				if !strings.Contains(ts.log.String(), "not in allow list") {
					t.Errorf("server log lacks the reason")
				}
			})

			t.Run("self", func(t *testing.T) {
				cfg := ts.clientConfig(tr)
				cfg.Identity = sid
				err := tryPush(t, ts, cfg)
				if !errors.Is(err, ErrSelf) {
					t.Errorf("err = %v; want ErrSelf", err)
				}
			})

			t.Run("no pin", func(t *testing.T) {
				cfg := ts.clientConfig(tr)
				cfg.Pin = ""
				err := tryPush(t, ts, cfg)
				want := "no pin for " + ts.Addr() + ": run `pdiffagent id` on the server and pass --pin sha256:"
				if err == nil || !strings.Contains(err.Error(), want) {
					t.Errorf("err = %v; want %q", err, want)
				}
			})

			if names := dirNames(t, ts.root); names != "" {
				t.Errorf("refused sessions left files on the server: %s", names)
			}
		})
	}
}

// TestServerRefusesSelf connects with the server's own identity through a
// client that does not check for itself: the server must refuse, even with
// its own fingerprint in the allow list.
func TestServerRefusesSelf(t *testing.T) {
	sid, _, _ := ids()
	ts := startServer(t, func(c *ServerConfig) { c.Allow = append(c.Allow, sid.Fingerprint()) })
	conf := &tls.Config{
		MinVersion:         tls.VersionTLS13,
		Certificates:       []tls.Certificate{sid.Certificate()},
		InsecureSkipVerify: true,
		NextProtos:         []string{alpn},
	}
	c, err := tls.Dial("tcp", ts.Addr(), conf)
	if err == nil {
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		_, err = c.Read(make([]byte, 1))
		c.Close()
	}
	if err == nil || !strings.Contains(err.Error(), "bad certificate") {
		t.Errorf("err = %v; want a TLS refusal", err)
	}
	want := "refused client " + sid.Fingerprint()
	if !waitFor(time.Minute, func() bool { return strings.Contains(ts.log.String(), want) }) ||
		!strings.Contains(ts.log.String(), "connection to self") {
		t.Errorf("server log lacks the self refusal:\n%s", ts.log.String())
	}
}

// TestServerRefusesOtherALPN: a TLS client that does not speak pdiffagent/1
// gets nothing.
func TestServerRefusesOtherALPN(t *testing.T) {
	_, cid, _ := ids()
	ts := startServer(t, nil)
	conf := &tls.Config{
		MinVersion:         tls.VersionTLS13,
		Certificates:       []tls.Certificate{cid.Certificate()},
		InsecureSkipVerify: true,
		NextProtos:         []string{"http/1.1"},
	}
	c, err := tls.Dial("tcp", ts.Addr(), conf)
	if err == nil {
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		_, err = c.Read(make([]byte, 1))
		c.Close()
	}
	if err == nil {
		t.Error("a client without ALPN pdiffagent/1 was served")
	}
}
