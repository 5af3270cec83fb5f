//go:build linux

package agent

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pdiffagent/pdiffagent/engine"
	"golang.org/x/sys/unix"
)

// A crowd of idle connections that never authenticate, from other
// addresses, must not keep a legitimate client out of a server whose
// descriptors are few (ulimit -n 1024 in a process of its own).
func TestHandshakeCrowd(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	_, cid, _ := ids()
	root := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHandshakeCrowdServer$", "-test.count=1")
	cmd.Env = append(os.Environ(), "PDIFF_CROWD_ROOT="+root, "PDIFF_CROWD_ALLOW="+cid.Fingerprint())
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { stdin.Close(); cmd.Wait() }()
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatalf("server process: %v", err)
	}
	addr, pin, _ := strings.Cut(strings.TrimSpace(line), " ")

	// 1,100 idle connections from 127.0.0.2 … 127.0.0.12.
	var crowd []net.Conn
	defer func() {
		for _, c := range crowd {
			c.Close()
		}
	}()
	for i := range 1100 {
		d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, byte(2+i/100))}, Timeout: 5 * time.Second}
		c, err := d.Dial("tcp", addr)
		if err != nil {
			t.Fatalf("crowd connection %d: %v", i, err)
		}
		crowd = append(crowd, c)
	}
	src := filepath.Join(t.TempDir(), "src")
	data := randomBytes(11, 4*testBlock)
	writeFile(t, src, data)
	cfg := ClientConfig{Identity: cid, Pin: pin, Transport: TransportTCP, DialTimeout: 5 * time.Second}
	if _, err := Push(context.Background(), cfg, src, addr+"/legit", testParams(4, 0), engine.Options{}); err != nil {
		t.Fatalf("legitimate push beside the crowd: %v", err)
	}
	if got := readFile(t, filepath.Join(root, "legit")); string(got) != string(data) {
		t.Fatal("legitimate push: target differs")
	}
}

// TestHandshakeCrowdServer is TestHandshakeCrowd's server process.
func TestHandshakeCrowdServer(t *testing.T) {
	root := os.Getenv("PDIFF_CROWD_ROOT")
	if root == "" {
		t.Skip("helper process of TestHandshakeCrowd")
	}
	lim := unix.Rlimit{Cur: 1024, Max: 1024}
	if err := unix.Setrlimit(unix.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
	id, err := NewIdentity()
	if err != nil {
		t.Fatal(err)
	}
	s, err := Listen(context.Background(), "127.0.0.1:0", ServerConfig{
		Root: root, Allow: []string{os.Getenv("PDIFF_CROWD_ALLOW")}, Identity: id,
		HandshakeTimeout: time.Minute, Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	fmt.Printf("%s %s\n", s.Addr(), s.Fingerprint())
	go s.Serve(context.Background())
	io.Copy(io.Discard, os.Stdin)
	s.Close()
}
