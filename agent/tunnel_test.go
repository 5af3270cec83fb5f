package agent

import (
	"bytes"
	"context"
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
		go func() { done <- ServeTunnel(context.Background(), ServerConfig{Root: root}, b, "ssh-client") }()
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
