package main

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	osuser "os/user"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pdiffagent/pdiffagent/bench"
)

func TestParseSSHRemote(t *testing.T) {
	for in, want := range map[string]string{
		"host:/tmp/x":           "host|/tmp/x",
		"root@127.0.0.1:/a/b":   "root@127.0.0.1|/a/b",
		"host:rel/f":            "host|rel/f",
		"u@host:":               "u@host|",
		"u@host:9443":           "u@host|9443",
		"[::1]:/x":              "::1|/x",
		"host:9443/vms/vm.img":  "",
		"host:9443":             "",
		"[fd00::2]:9443/x":      "",
		"./dir/with:colon":      "",
		"/abs/with:colon/x.img": "",
	} {
		dest, path, ok := parseSSHRemote(in)
		got := ""
		if ok {
			got = dest + "|" + path
		}
		if got != want {
			t.Errorf("%q: %q, want %q", in, got, want)
		}
	}
}

// sshd is an OpenSSH server for one test: key-only, bound to 127.0.0.1 on
// a free port, started by the test and stopped after it.
type sshd struct {
	port, key string
	forcedKey string // a key whose login runs forced, whatever the client asks
}

// startSSHD starts sshd, installing openssh-server with apt-get when it is
// missing and the test runs as root (as CI does); it skips the test, and
// says why, only when sshd cannot be had.
func startSSHD(t *testing.T, forced string) *sshd {
	t.Helper()
	const bin = "/usr/sbin/sshd"
	if _, err := os.Stat(bin); err != nil {
		if os.Getuid() != 0 {
			t.Skip("sshd is not installed and the test is not root: cannot install openssh-server")
		}
		out, err := exec.Command("apt-get", "install", "-y", "openssh-server").CombinedOutput()
		if err != nil {
			out2, _ := exec.Command("apt-get", "update").CombinedOutput()
			out3, err3 := exec.Command("apt-get", "install", "-y", "openssh-server").CombinedOutput()
			if err3 != nil {
				t.Skipf("sshd missing and openssh-server could not be installed: %v\n%s%s%s", err3, out, out2, out3)
			}
		}
	}
	if _, err := exec.LookPath("ssh"); err != nil {
		t.Skip("no ssh client")
	}
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"host", "client", "forced"} {
		if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", filepath.Join(dir, k)).CombinedOutput(); err != nil {
			t.Fatalf("ssh-keygen: %v: %s", err, out)
		}
	}
	pub, err := os.ReadFile(filepath.Join(dir, "client.pub"))
	if err != nil {
		t.Fatal(err)
	}
	fpub, err := os.ReadFile(filepath.Join(dir, "forced.pub"))
	if err != nil {
		t.Fatal(err)
	}
	pub = append(pub, fmt.Sprintf("command=%q,restrict %s", forced, fpub)...)
	if err := os.WriteFile(filepath.Join(dir, "authorized_keys"), pub, 0o600); err != nil {
		t.Fatal(err)
	}
	// SetEnv SHLVL=1: bash (the login shell that runs every command) reads
	// ~/.bashrc when started by sshd at the first shell level; root's
	// runs pyenv init on the development VM, 4.5 s of every ssh start
	// (5.3 s in all, 1.0 s without it, at load 17).
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	ln.Close()
	conf := fmt.Sprintf(`Port %s
ListenAddress 127.0.0.1
HostKey %s
AuthorizedKeysFile %s
PidFile %s
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
PermitRootLogin prohibit-password
UseDNS no
GSSAPIAuthentication no
SetEnv SHLVL=1
`, port, filepath.Join(dir, "host"), filepath.Join(dir, "authorized_keys"), filepath.Join(dir, "sshd.pid"))
	cfg := filepath.Join(dir, "sshd_config")
	if err := os.WriteFile(cfg, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	os.MkdirAll("/run/sshd", 0o755) // privilege separation directory
	cmd := exec.Command(bin, "-D", "-e", "-f", cfg)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	ready := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		var lines []string
		for sc.Scan() {
			lines = append(lines, sc.Text())
			if strings.Contains(sc.Text(), "Server listening on 127.0.0.1") {
				ready <- ""
				break
			}
		}
		ready <- strings.Join(lines, "\n")
		for sc.Scan() { // drain: sshd logs each connection
		}
	}()
	select {
	case msg := <-ready:
		if msg != "" {
			t.Fatalf("sshd did not start: %s", msg)
		}
	case <-time.After(time.Minute):
		t.Fatal("sshd did not say it listens")
	}
	return &sshd{port: port, key: filepath.Join(dir, "client"), forcedKey: filepath.Join(dir, "forced")}
}

// rsh is the -e for this server, logging in with key, with the ciphers
// of push's default -e.
func (s *sshd) rsh(key string) string {
	return fmt.Sprintf(strings.Join(defaultRsh, " ")+" -p %s -i %s -o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR", s.port, key)
}

// TestSSHTransport: push and pull [user@]host:/path through a real sshd,
// the far side being this test binary as pdiffagent serve --stdio.
func TestSSHTransport(t *testing.T) {
	dir := t.TempDir()
	jail := filepath.Join(dir, "jail")
	if err := os.Mkdir(jail, 0o755); err != nil {
		t.Fatal(err)
	}
	s := startSSHD(t, fmt.Sprintf("env %s=1 %s serve --stdio --root %s --read-only", asCLIEnv, selfBinary(t), jail))
	src := filepath.Join(dir, "src")
	if err := bench.GenerateRandom(src, 3<<20+5, 11); err != nil {
		t.Fatal(err)
	}
	remotePath := asCLIEnv + "=1 " + selfBinary(t)
	me, err := osuser.Current()
	if err != nil {
		t.Fatal(err)
	}
	user := me.Username
	common := []string{"-q", "-b", "64K", "-c", "3", "--no-cache", "-e", s.rsh(s.key), "--remote-path", "env " + remotePath}
	dst := filepath.Join(dir, "far", "dst.img")
	if err := os.Mkdir(filepath.Dir(dst), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		append([]string{"push", src, user + "@127.0.0.1:" + dst}, common...),
		append([]string{"pull", user + "@127.0.0.1:" + dst, filepath.Join(dir, "back.img")}, common...),
	} {
		if code, msg := execute(t, args...); code != exitOK {
			t.Fatalf("%q: exit %d: %s", args[:3], code, msg)
		}
	}
	for _, f := range []string{dst, filepath.Join(dir, "back.img")} {
		if eq, err := bench.Compare(src, f); err != nil || !eq {
			t.Errorf("%s differs from the source (%v)", f, err)
		}
	}
	code, o := runJSON(t, append([]string{"pull", "--json", user + "@127.0.0.1:" + filepath.Join(dir, "nosuch"), filepath.Join(dir, "x")}, common...)...)
	if code != exitError || o.ErrorCode != codeNotFound {
		t.Errorf("pull of a missing file over ssh: exit %d, %+v", code, o)
	}
	// The forced command's policy wins: its root, and read-only.
	forced := []string{"--json", "-b", "64K", "--no-cache", "-e", s.rsh(s.forcedKey)}
	code, o = runJSON(t, append([]string{"push", src, user + "@127.0.0.1:" + dst}, forced...)...)
	if code != exitError || o.ErrorCode != codeRefused || !strings.Contains(o.Error, "read-only") {
		t.Errorf("push through a read-only forced command: exit %d, %+v", code, o)
	}
	if err := os.WriteFile(filepath.Join(jail, "in.img"), []byte("inside the jail"), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, o = runJSON(t, append([]string{"pull", user + "@127.0.0.1:/in.img", filepath.Join(dir, "in.img")}, forced...)...); code != exitOK {
		t.Errorf("pull beneath the forced root: exit %d, %+v", code, o)
	}
}

// TestSSHConnections: --ssh-connections 3 runs one session over three ssh
// sessions of a real sshd (the second and third hand their pipes to the
// first serve --stdio), byte for byte, both ways and through a forced
// command; a join with a token no session gave is refused; no rendezvous
// socket outlives its session.
func TestSSHConnections(t *testing.T) {
	dir := t.TempDir()
	run, jail := filepath.Join(dir, "run"), filepath.Join(dir, "jail")
	for _, d := range []string{run, jail} {
		if err := os.Mkdir(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	far := fmt.Sprintf("env %s=1 XDG_RUNTIME_DIR=%s %s", asCLIEnv, run, selfBinary(t))
	s := startSSHD(t, far+" serve --stdio --read-only --root "+jail)
	me, err := osuser.Current()
	if err != nil {
		t.Fatal(err)
	}
	host := me.Username + "@127.0.0.1:"
	src := filepath.Join(dir, "src")
	if err := bench.GenerateRandom(src, 6<<20+3, 12); err != nil {
		t.Fatal(err)
	}
	sync := func(key string, args ...string) {
		t.Helper()
		args = append(args, "--json", "-b", "64K", "-c", "6", "--no-cache", "--ssh-connections", "3", "-e", s.rsh(key), "--remote-path", far)
		var code int
		out := captureStdout(t, func() { code, _ = execute(t, args...) })
		var o struct {
			Error       string `json:"error"`
			Connections int    `json:"connections"`
		}
		if err := json.Unmarshal([]byte(out), &o); err != nil || code != exitOK || o.Connections != 3 {
			t.Fatalf("%q: exit %d, %q: want success over 3 connections", args[:3], code, out)
		}
		if ents, _ := os.ReadDir(filepath.Join(run, fmt.Sprintf("pdiffagent-%d", os.Getuid()))); len(ents) != 0 {
			t.Errorf("%q: the rendezvous outlived the session: %v", args[:3], ents)
		}
	}
	dst, back, forced := filepath.Join(jail, "dst.img"), filepath.Join(dir, "back.img"), filepath.Join(dir, "forced.img")
	sync(s.key, "push", src, host+dst)
	sync(s.key, "pull", host+dst, back)
	sync(s.forcedKey, "pull", host+"/dst.img", forced) // the forced command's joins share its policy
	for _, f := range []string{dst, back, forced} {
		if eq, err := bench.Compare(src, f); err != nil || !eq {
			t.Errorf("%s differs from the source (%v)", f, err)
		}
	}

	var tok joinToken
	if _, err := rand.Read(tok[:]); err != nil {
		t.Fatal(err)
	}
	rsh := strings.Fields(s.rsh(s.key))
	cmd := exec.Command(rsh[0], append(rsh[1:], me.Username+"@127.0.0.1", far+" serve --stdio")...)
	cmd.Stdin = bytes.NewReader(appendJoin(nil, tok))
	out, err := cmd.Output()
	_, rerr := readJoinReply(bytes.NewReader(out), 0)
	if err == nil || !errors.As(rerr, new(*joinRefusedError)) || !strings.Contains(rerr.Error(), "no session") {
		t.Errorf("a join with an unknown token: %v, answer %q (%v)", err, out, rerr)
	}
}
