package main

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/pdiffagent/pdiffagent/sysio"
	"github.com/pdiffagent/pdiffagent/sysio/sysiotest"
)

// Real processes for the fault tests (fault_test.go): this test binary run
// as pdiffagent (helperproc_test.go), a server and a client identity,
// servers and clients started and killed as children.

// faultEnv is one test's binary and identities.
type faultEnv struct {
	t       *testing.T
	bin     string
	dir     string
	srvHome string
	cliHome string
	srvFP   string
	cliFP   string
}

func newFaultEnv(t *testing.T) *faultEnv {
	t.Helper()
	if testing.Short() {
		t.Skip("starts real processes")
	}
	dir := t.TempDir()
	e := &faultEnv{t: t, bin: selfBinary(t), dir: dir,
		srvHome: filepath.Join(dir, "server-id"), cliHome: filepath.Join(dir, "client-id")}
	e.srvFP = e.id(e.srvHome)
	e.cliFP = e.id(e.cliHome)
	return e
}

// selfBinary is this test binary, which runs as pdiffagent when asCLIEnv
// is set (cliEnv).
func selfBinary(t *testing.T) string {
	t.Helper()
	bin, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return bin
}

// cliEnv is the environment of a child that runs as pdiffagent with home as
// its identity directory.
func cliEnv(home string) []string {
	return append(os.Environ(), asCLIEnv+"=1", "PDIFFAGENT_HOME="+home)
}

// id runs `pdiffagent id` with home as the identity directory.
func (e *faultEnv) id(home string) string {
	e.t.Helper()
	cmd := exec.Command(e.bin, "id")
	cmd.Env = cliEnv(home)
	out, err := cmd.Output()
	if err != nil {
		e.t.Fatalf("pdiffagent id: %v", err)
	}
	return strings.TrimSpace(string(out))
}

// proc is a running child.
type proc struct {
	cmd    *exec.Cmd
	stdout sysiotest.Buffer // safe to read while it runs
	stderr sysiotest.Buffer
	start  time.Time
	done   chan struct{} // closed once it has exited and been reaped
	code   int           // exit code; -1 when killed by a signal
	sig    syscall.Signal
	end    time.Time

	// A held child's hold (startHeld): held yields once it holds (or
	// fails when it ended first); closing unhold lets it go on.
	held   chan error
	unhold *os.File
	once   sync.Once
}

func (e *faultEnv) startProc(home string, args ...string) *proc {
	e.t.Helper()
	return e.startCmd(home, append([]string{e.bin}, args...)...)
}

// startCmd runs argv (a wrapper such as nsenter around the binary).
func (e *faultEnv) startCmd(home string, argv ...string) *proc {
	e.t.Helper()
	return e.startHeld(0, home, argv...)
}

// startHeld runs argv; when n > 0 the binary holds at its n-th tier-1 hash
// once something was sent or written, when n is holdCommit at its
// receiver's commit (TestMain), until p.release.
func (e *faultEnv) startHeld(n int64, home string, argv ...string) *proc {
	e.t.Helper()
	p := &proc{cmd: exec.Command(argv[0], argv[1:]...), done: make(chan struct{})}
	p.cmd.Env = cliEnv(home)
	p.cmd.Stdout, p.cmd.Stderr = &p.stdout, &p.stderr
	var heldR, heldW, unholdR *os.File
	if n != 0 {
		heldR, heldW = mustPipe(e.t)
		unholdR, p.unhold = mustPipe(e.t)
		at := strconv.FormatInt(n, 10)
		if n == holdCommit {
			at = "commit"
		}
		p.cmd.Env = append(p.cmd.Env, holdEnv+"="+at)
		p.cmd.ExtraFiles = []*os.File{heldW, unholdR} // descriptors 3 and 4
	}
	p.start = time.Now()
	if err := p.cmd.Start(); err != nil {
		e.t.Fatal(err)
	}
	if n != 0 {
		heldW.Close() // the child's now: EOF once it said held or ended
		unholdR.Close()
		p.held = make(chan error, 1)
		go func() {
			defer heldR.Close()
			if _, err := io.ReadFull(heldR, make([]byte, 5)); err != nil {
				p.held <- fmt.Errorf("it ended before its hold (%s=%d): %w", holdEnv, n, err)
				return
			}
			p.held <- nil
		}()
	}
	go func() {
		err := p.cmd.Wait()
		p.end = time.Now()
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			p.code = exit.ExitCode()
			if ws, ok := exit.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
				p.sig = ws.Signal()
			}
		}
		close(p.done)
	}()
	e.t.Cleanup(func() {
		p.release()
		p.signal(syscall.SIGCONT)
		p.signal(syscall.SIGKILL)
		<-p.done
	})
	return p
}

// waitHeld waits until a child started with startHeld holds; it fails the
// test if the child ended first (it never reached the state the test
// wants) or did not get there within a minute.
func (p *proc) waitHeld(t *testing.T) {
	t.Helper()
	select {
	case err := <-p.held:
		if err != nil {
			<-p.done
			t.Fatalf("%v (exit %d): %s", err, p.code, p.stderr.String())
		}
	case <-time.After(time.Minute):
		t.Fatalf("no hold within a minute: %s", p.stderr.String())
	}
}

// release lets a held child go on.
func (p *proc) release() {
	p.once.Do(func() {
		if p.unhold != nil {
			p.unhold.Close()
		}
	})
}

func (p *proc) signal(s syscall.Signal) {
	select {
	case <-p.done:
	default:
		p.cmd.Process.Signal(s)
	}
}

func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// wait waits up to d for the process to exit; ok is false if it did not.
func (p *proc) wait(d time.Duration) (code int, ok bool) {
	select {
	case <-p.done:
		return p.code, true
	case <-time.After(d):
		return 0, false
	}
}

// kill sends SIGKILL and reaps the process.
func (p *proc) kill() {
	p.signal(syscall.SIGKILL)
	<-p.done
}

// cpuTime is the process's user+system CPU time so far.
func (p *proc) cpuTime() time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	if len(f) < 13 {
		return 0
	}
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * time.Second / 100 // USER_HZ
}

// server is a running `pdiffagent listen`.
type server struct {
	*proc
	addr string
	root string
}

var listeningRE = regexp.MustCompile(`msg=listening addr=(\S+)`)

// startServer runs `listen 127.0.0.1:0 --root root --allow <client>` and
// waits until it says where it listens.
func (e *faultEnv) startServer(root string, args ...string) *server {
	e.t.Helper()
	return e.startServerHeld(0, root, args...)
}

// startServerHeld is startServer with a hold (startHeld).
func (e *faultEnv) startServerHeld(hold int64, root string, args ...string) *server {
	e.t.Helper()
	args = append([]string{e.bin, "listen", "127.0.0.1:0", "--root", root, "--allow", e.cliFP}, args...)
	return e.waitServer(e.startHeld(hold, e.srvHome, args...), root)
}

// waitServer waits until the server p says where it listens.
func (e *faultEnv) waitServer(p *proc, root string) *server {
	e.t.Helper()
	s := &server{proc: p, root: root}
	waitUntil(func() bool { return listeningRE.MatchString(s.stderr.String()) || s.exited() }, time.Minute)
	m := listeningRE.FindStringSubmatch(s.stderr.String())
	if m == nil {
		e.t.Fatalf("server did not start: %s", s.stderr.String())
	}
	s.addr = m[1]
	return s
}

// remote is "addr/path" on s.
func (s *server) remote(path string) string { return s.addr + "/" + path }

// count is how many lines of the server's log contain substr.
func (s *server) count(substr string) int { return strings.Count(s.stderr.String(), substr) }

// waitLog waits up to d for the log to hold more than n lines containing
// substr; it returns when it saw it.
func (s *server) waitLog(substr string, n int, d time.Duration) (time.Time, bool) {
	return waitUntil(func() bool { return s.count(substr) > n }, d)
}

// sessionsEnded counts the sessions the server has ended, however.
func (s *server) sessionsEnded() int {
	out := s.stderr.String()
	return strings.Count(out, `msg="session failed`) + strings.Count(out, `msg="session done"`) +
		strings.Count(out, `msg="session refused"`)
}

// waitUntil waits up to d for cond (sysiotest.WaitUntil) and says when it
// held.
func waitUntil(cond func() bool, d time.Duration) (time.Time, bool) {
	ok := sysiotest.WaitUntil(d, cond)
	return time.Now(), ok
}

// checkIdle checks that the server, with no session left, goes idle: that
// within a minute there is a second in which it uses at most 50 ms of CPU.
// Something spinning never gets there, even on a loaded machine (a
// spinning thread given a tenth of a core still burns 100 ms a second); an
// idle server does, however slowly it finishes ending its sessions.
func (s *server) checkIdle(t *testing.T) {
	t.Helper()
	const window, most = time.Second, 50 * time.Millisecond
	var used time.Duration
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); {
		before := s.cpuTime()
		time.Sleep(window) // a measurement window, not a wait for a state
		if used = s.cpuTime() - before; used <= most {
			return
		}
	}
	t.Errorf("server used %v of CPU in every %v for a minute with no session: something is spinning", used, window)
}

// client runs push or pull (args after the command name) against the
// server's pin.
func (e *faultEnv) client(args ...string) *proc {
	e.t.Helper()
	args = append([]string{args[0], "--pin", e.srvFP, "--progress=never"}, args[1:]...)
	return e.startProc(e.cliHome, args...)
}

// clientHeld is client, held at its n-th tier-1 hash (startHeld).
func (e *faultEnv) clientHeld(n int64, args ...string) *proc {
	e.t.Helper()
	args = append([]string{e.bin, args[0], "--pin", e.srvFP, "--progress=never"}, args[1:]...)
	return e.startHeld(n, e.cliHome, args...)
}

// run runs a client to its end (bounded) and returns it.
func (e *faultEnv) run(args ...string) *proc {
	e.t.Helper()
	p := e.client(args...)
	if _, ok := p.wait(60 * time.Second); !ok {
		e.t.Fatalf("%v did not end within 60 s", args)
	}
	return p
}

// mustRun runs a client that must succeed.
func (e *faultEnv) mustRun(args ...string) *proc {
	e.t.Helper()
	p := e.run(args...)
	if p.code != 0 {
		e.t.Fatalf("%v: exit %d: %s", args, p.code, p.stderr.String())
	}
	return p
}

// fileSum is the sha256 of a file, or "missing".
func fileSum(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return "missing"
	}
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("%x", sha256.Sum256(b))
}

func bytesSum(b []byte) string { return fmt.Sprintf("%x", sha256.Sum256(b)) }

// tempsIn lists the atomic replacements' temporary files in dir.
func tempsIn(t *testing.T, dir string) []string { return sysiotest.ListDir(t, dir, sysio.TempName) }

// The shared test helpers (sysio/sysiotest), by this package's names.
var (
	fastRandom = sysiotest.RandomBytes
	writeBytes = sysiotest.WriteFile
)
