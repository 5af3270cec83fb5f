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
// workers multiplexed by yamux, served by ServeTunnel under its root; and
// over three pipes (--ssh-connections 3), the workers' streams spread over
// them, the joined ones served until the first ends.
func TestTunnel(t *testing.T) {
	checkGoroutines(t)
	src := filepath.Join(t.TempDir(), "src")
	data := randomBytes(71, 40*testBlock+123)
	writeFile(t, src, data)
	for _, pipes := range []int{1, 3} {
		root := t.TempDir()
		for _, op := range []string{"push", "pull"} {
			a, b := net.Pipe()
			joins := make(chan io.ReadWriteCloser)
			done := make(chan error, 1)
			go func() { done <- ServeTunnel(context.Background(), ServerConfig{Root: root}, b, "ssh-client", joins) }()
			cfg := ClientConfig{Tunnel: a}
			for range pipes - 1 {
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
				t.Fatalf("%d pipes, %s: %v", pipes, op, err)
			}
			if err := <-done; err != nil {
				t.Fatalf("%d pipes, %s: server: %v", pipes, op, err)
			}
			for _, c := range cfg.Tunnels {
				c.Close()
			}
			if out.Connections != pipes || out.Workers != 6 {
				t.Errorf("%d pipes, %s: %d workers over %d pipes, want 6", pipes, op, out.Workers, out.Connections)
			}
		}
		for _, f := range []string{"t.img", "pulled"} {
			if got := readFile(t, filepath.Join(root, f)); !bytes.Equal(got, data) {
				t.Errorf("%d pipes: %s differs", pipes, f)
			}
		}
	}
}
