package agent

import (
	"bytes"
	"context"
	"io"
	"net"
	"path/filepath"
	"testing"

	"github.com/pdiffagent/pdiffagent/engine"
)

// TestTunnel: push and pull over one byte pipe (what ssh gives), the
// workers multiplexed by yamux, served by ServeTunnel under its root.
func TestTunnel(t *testing.T) {
	checkGoroutines(t)
	root := t.TempDir()
	src := filepath.Join(t.TempDir(), "src")
	data := randomBytes(71, 40*testBlock+123)
	writeFile(t, src, data)
	for _, op := range []string{"push", "pull"} {
		a, b := net.Pipe()
		done := make(chan error, 1)
		go func() { done <- ServeTunnel(context.Background(), ServerConfig{Root: root}, b, "ssh-client", nil) }()
		cfg := ClientConfig{Tunnel: a}
		var err error
		if op == "push" {
			_, err = Push(context.Background(), cfg, src, "t.img", testParams(4, 0), engine.Options{})
		} else {
			_, err = Pull(context.Background(), cfg, "t.img", filepath.Join(root, "pulled"), testParams(4, 0), engine.Options{})
		}
		a.Close()
		if err != nil {
			t.Fatalf("%s: %v", op, err)
		}
		if err := <-done; err != nil {
			t.Fatalf("%s: server: %v", op, err)
		}
	}
	for _, f := range []string{"t.img", "pulled"} {
		if got := readFile(t, filepath.Join(root, f)); !bytes.Equal(got, data) {
			t.Errorf("%s differs", f)
		}
	}
}

// TestTunnelJoined: one session over three pipes (--ssh-connections 3):
// the workers' streams are spread over all of them, and the server serves
// the joined pipes until the first one ends.
func TestTunnelJoined(t *testing.T) {
	checkGoroutines(t)
	root := t.TempDir()
	src := filepath.Join(t.TempDir(), "src")
	data := randomBytes(72, 40*testBlock+7)
	writeFile(t, src, data)
	for _, op := range []string{"push", "pull"} {
		a, b := net.Pipe()
		joins := make(chan io.ReadWriteCloser)
		done := make(chan error, 1)
		go func() { done <- ServeTunnel(context.Background(), ServerConfig{Root: root}, b, "ssh-client", joins) }()
		cfg := ClientConfig{Tunnel: a}
		for range 2 {
			c, s := net.Pipe()
			joins <- s
			cfg.Tunnels = append(cfg.Tunnels, c)
		}
		var out Outcome
		var err error
		if op == "push" {
			out, err = Push(context.Background(), cfg, src, "t.img", testParams(6, 0), engine.Options{})
		} else {
			out, err = Pull(context.Background(), cfg, "t.img", filepath.Join(root, "pulled"), testParams(6, 0), engine.Options{})
		}
		a.Close()
		if err != nil {
			t.Fatalf("%s: %v", op, err)
		}
		if err := <-done; err != nil {
			t.Fatalf("%s: server: %v", op, err)
		}
		for _, c := range cfg.Tunnels {
			c.Close()
		}
		if out.Connections != 3 || out.Workers != 6 {
			t.Errorf("%s: %d workers over %d pipes, want 6 over 3", op, out.Workers, out.Connections)
		}
	}
	for _, f := range []string{"t.img", "pulled"} {
		if got := readFile(t, filepath.Join(root, f)); !bytes.Equal(got, data) {
			t.Errorf("%s differs", f)
		}
	}
}
