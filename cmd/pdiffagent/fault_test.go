package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pdiffagent/pdiffagent/engine"
	"github.com/pdiffagent/pdiffagent/sysio/sysiotest"
)

// Fault tests with real processes: kill -9 of either side of a push or a
// pull at several points, --atomic under kills, a full disk, a peer that
// stops (SIGSTOP), a source that changes, and Ctrl-C. The process helpers
// are in faultproc_test.go; longer variants are behind the soak tag
// (fault_soak_test.go). Each test logs what it measured.

// killScenario is the content of a kill test and when the kill comes.
type killScenario struct {
	name  string
	size  int
	block string
	every int     // old differs from new in every every-th block (1: all)
	at    float64 // the kill comes while the client holds at this fraction of its blocks (holdAt)
	// atCommit: the kill comes while the receiver holds after it has
	// committed the target (fsync, mode, mtime) and before its FinalAck:
	// with --atomic, before the rename.
	atCommit bool
}

var (
	// Nearly identical copies: the run is all hashing and confirming.
	scHashing = killScenario{"hashing", 32 << 20, "4K", 97, 0.5, false}
	// Different copies: the run is all transfer.
	scTransfer = killScenario{"transfer", 32 << 20, "16K", 1, 0.5, false}
	// The same, killed at the very end.
	scCommit = killScenario{"commit", 32 << 20, "16K", 1, 0, true}
)

// data returns the new and the old content.
func (sc killScenario) data() (newData, oldData []byte) {
	newData = fastRandom(1, sc.size)
	if sc.every == 1 {
		return newData, fastRandom(2, sc.size)
	}
	oldData = append([]byte(nil), newData...)
	bs := 4 << 10
	for off := 0; off < len(oldData); off += sc.every * bs {
		oldData[off] ^= 0xff
	}
	return newData, oldData
}

// killTrial is one run of op (push or pull) in which victim ("client" or
// "server") is killed with SIGKILL.
type killTrial struct {
	e         *faultEnv
	op        string
	sc        killScenario
	atomic    bool
	transport string
	idle      string // --idle-timeout on both sides

	newData, oldData []byte
	root, local      string
	srv              *server
}

func (k *killTrial) args() []string {
	a := []string{k.op, "-b", k.sc.block, "-c", "2", "--transport", k.transport, "--idle-timeout", k.idle}
	if k.atomic {
		a = append(a, "--atomic")
	}
	if k.op == "push" {
		return append(a, filepath.Join(k.local, "f"), k.srv.remote("f"))
	}
	return append(a, k.srv.remote("f"), filepath.Join(k.local, "f"))
}

// target is the file the trial updates.
func (k *killTrial) target() string {
	if k.op == "push" {
		return filepath.Join(k.root, "f")
	}
	return filepath.Join(k.local, "f")
}

// setup writes the old target and the new source and starts a server.
func (k *killTrial) setup(t *testing.T) {
	if k.newData == nil {
		k.newData, k.oldData = k.sc.data()
	}
	if k.transport == "" {
		k.transport = "tcp"
	}
	if k.idle == "" {
		k.idle = "5s"
	}
	k.root, k.local = t.TempDir(), t.TempDir()
	src, dst := filepath.Join(k.local, "f"), filepath.Join(k.root, "f")
	if k.op == "pull" {
		src, dst = dst, src
	}
	writeBytes(t, src, k.newData)
	writeBytes(t, dst, k.oldData)
	var hold int64
	if k.sc.atCommit && k.op == "push" {
		hold = holdCommit // the server receives
	}
	k.startServer(t, hold)
}

func (k *killTrial) startServer(t *testing.T, hold int64) {
	k.srv = k.e.startServerHeld(hold, k.root, "--idle-timeout", k.idle)
}

// holdAt is the client's tier-1 hash at which it holds for the kill: the
// fraction at of the blocks (a push's client hashes its source's blocks, a
// pull's its target's, a sync both: it holds earlier in the run).
func (k *killTrial) holdAt(at float64) int64 {
	bs, err := engine.ParseBlockSize(k.sc.block)
	if err != nil {
		panic(err)
	}
	blocks := (int64(k.sc.size) + int64(bs) - 1) / int64(bs)
	return max(1, min(blocks, int64(at*float64(blocks))))
}

// killResult is what a killTrial saw.
type killResult struct {
	noticed time.Duration // how long the survivor took to notice (0: the run ended before the kill)
	left    string        // what the kill left as the target: "old", "new" or "mixed"
}

// run kills victim while the client holds at the scenario's point (or at
// commit) and checks the aftermath: the other side ends with an error
// within bound, nothing is left running, --atomic left the old or the new
// file, and a rerun converges.
func (k *killTrial) run(t *testing.T, victim string, bound time.Duration) (res killResult) {
	t.Helper()
	k.setup(t)
	ended := k.srv.sessionsEnded()
	// c is the client; held is the side that holds: the client, or at a
	// push's commit the server.
	var c, held *proc
	switch {
	case k.sc.atCommit && k.op == "push":
		c, held = k.e.client(k.args()...), k.srv.proc
	case k.sc.atCommit:
		c = k.e.clientHeld(holdCommit, k.args()...)
		held = c
	default:
		c = k.e.clientHeld(k.holdAt(k.sc.at), k.args()...)
		held = c
	}
	held.waitHeld(t)
	killed := time.Now()
	switch victim {
	case "client":
		c.kill()
		held.release() // a held server goes on to find its client gone
		at, ok := waitUntil(func() bool { return k.srv.sessionsEnded() > ended }, bound)
		if !ok {
			t.Fatalf("the server did not end the session within %v of the client's death:\n%s", bound, k.srv.stderr.String())
		}
		if k.srv.count("session failed") == 0 {
			if !k.sc.atCommit {
				t.Fatalf("the session of a client killed while it held ended well:\n%s", k.srv.stderr.String())
			}
			// The server sent its FinalAck before it saw the client gone.
			t.Logf("%s: the session ended well", k.op)
			break
		}
		res.noticed = at.Sub(killed)
		if k.srv.exited() {
			t.Fatalf("the server died with its client: %s", k.srv.stderr.String())
		}
		k.srv.checkIdle(t)
	case "server":
		k.srv.kill()
		c.release()
		code, ok := c.wait(bound)
		if !ok {
			t.Fatalf("the client did not exit within %v of the server's death", bound)
		}
		res.noticed = c.end.Sub(killed)
		msg := strings.TrimSpace(c.stderr.String())
		if code == 0 && k.sc.atCommit {
			t.Logf("%s: the client's FinalAck went out before it saw the server gone", k.op)
		} else if code != exitTempFail || !strings.HasPrefix(msg, "pdiffagent: ") {
			t.Errorf("client: exit %d, stderr %q; want 75 (the connection broke: worth retrying) and an error", code, msg)
		}
		k.startServer(t, 0)
	}
	switch fileSum(t, k.target()) {
	case bytesSum(k.oldData):
		res.left = "old"
	case bytesSum(k.newData):
		res.left = "new"
	default:
		res.left = "mixed"
	}
	if k.atomic {
		if res.left == "mixed" {
			t.Fatalf("--atomic: after a kill the target is neither the old nor the new file")
		}
		// Only a killed writer leaves its temporary file behind.
		writerKilled := (k.op == "push") == (victim == "server")
		if left := tempsIn(t, filepath.Dir(k.target())); len(left) > 0 && !writerKilled {
			t.Errorf("temporary files left by a surviving writer: %v", left)
		}
	}
	k.e.mustRun(k.args()...)
	if fileSum(t, k.target()) != bytesSum(k.newData) {
		t.Fatal("the rerun did not converge: target differs from the source")
	}
	return res
}

// other is the survivor of a kill of the key.
var other = map[string]string{"client": "server", "server": "client"}

// killCase is one kill of a matrix.
type killCase struct {
	op     string // push or pull
	sc     killScenario
	victim string // client or server
}

// killMatrix runs the cases (over transport, with idle as both sides'
// --idle-timeout).
func killMatrix(t *testing.T, e *faultEnv, transport, idle string, cases []killCase) {
	for _, c := range cases {
		k := &killTrial{e: e, op: c.op, sc: c.sc, transport: transport, idle: idle}
		t.Run(c.op+"/"+c.sc.name+"/kill-"+c.victim, func(t *testing.T) {
			res := k.run(t, c.victim, 10*time.Second)
			when := fmt.Sprintf("block %d", k.holdAt(c.sc.at))
			if c.sc.atCommit {
				when = "commit"
			}
			t.Logf("%s: killed at %s; the %s noticed after %v; the target was left %s", transport,
				when, other[c.victim], res.noticed.Round(time.Millisecond), res.left)
		})
	}
}

// TestKillNine: kill -9 of the client or of the server of a push and of a
// pull (TCP), during hashing, mid-transfer and at commit: the survivor
// ends with an error within seconds (the client exits 1; the server logs
// "session failed" and goes idle, not spinning), and rerunning the same
// command converges to an identical target. Each point is killed on one
// side here; TestSoakKillNine kills both sides at every point.
func TestKillNine(t *testing.T) {
	t.Parallel() // each has its own processes, identities and files
	killMatrix(t, newFaultEnv(t), "tcp", "5s", []killCase{
		{"push", scHashing, "client"}, {"push", scTransfer, "server"}, {"push", scCommit, "server"},
		{"pull", scHashing, "server"}, {"pull", scTransfer, "client"}, {"pull", scCommit, "client"},
	})
}

// atomicKills kills victim (while the client holds at the fraction at of
// its blocks, or at commit for at < 0) during an atomic op and counts what
// the target was left as.
func atomicKills(t *testing.T, e *faultEnv, op string, points []float64, rounds int) {
	sc := killScenario{name: "atomic", size: 32 << 20, block: "16K", every: 1}
	k := &killTrial{e: e, op: op, sc: sc, atomic: true}
	writer := map[string]string{"push": "server", "pull": "client"}[op]
	left := map[string]int{}
	for r := 0; r < rounds; r++ {
		for _, at := range points {
			for _, victim := range []string{writer, other[writer]} {
				if victim != writer && at != 0.5 {
					continue // the side that does not write: once a round is enough
				}
				k.sc.at, k.sc.atCommit = at, at < 0
				t.Run(op+"/kill-"+victim, func(t *testing.T) {
					res := k.run(t, victim, 10*time.Second)
					left[res.left]++
				})
			}
		}
	}
	t.Logf("%s --atomic: the kills left the target old %d times, new %d times, mixed %d times",
		op, left["old"], left["new"], left["mixed"])
}

// TestAtomicKill: with --atomic, a kill of the side that writes (the server
// of a push, the client of a pull) mid-transfer and at the commit (-1: as
// soon as the temporary file has been committed, around the rename), and of
// the other side, leaves the target either the complete old or the
// complete new file, never a mix; a rerun converges. TestSoakAtomicKill
// kills at many more points, for several rounds.
func TestAtomicKill(t *testing.T) {
	t.Parallel() // each has its own processes, identities and files
	e := newFaultEnv(t)
	for _, op := range []string{"push", "pull"} {
		atomicKills(t, e, op, []float64{0.5, -1}, 1)
	}
}

// TestDiskFull: the server's disk fills (a 16 MiB tmpfs under its root):
// push (into a sparse target, which the server's room check lets through:
// it needs no growth), push --atomic (refused up front for want of room)
// and a local sync into it fail with an error naming the file and the
// cause, exit 1; --atomic leaves the old file and no temporary file; the
// server serves other clients on.
func TestDiskFull(t *testing.T) {
	t.Parallel() // each has its own processes, identities and files
	e := newFaultEnv(t)
	root := t.TempDir()
	small := filepath.Join(root, "small")
	sysiotest.Mount(t, "tmpfs", small, "16m")
	srv := e.startServer(root)
	local := t.TempDir()
	big := filepath.Join(local, "big")
	writeBytes(t, big, fastRandom(3, 32<<20))

	const enospc = "no space left on device"
	check := func(what string, p *proc, name, cause string) {
		t.Helper()
		msg := p.stderr.String()
		if p.code != exitError || !strings.Contains(msg, name) || !strings.Contains(msg, cause) {
			t.Errorf("%s: exit %d, stderr %q; want 1, the file's name and %q", what, p.code, msg, cause)
		}
		t.Logf("%s: %s", what, strings.TrimSpace(msg))
	}
	writeBytes(t, filepath.Join(small, "big"), nil)
	if err := os.Truncate(filepath.Join(small, "big"), 32<<20); err != nil { // sparse
		t.Fatal(err)
	}
	p := e.run("push", "-b", "64K", "-c", "2", big, srv.remote("small/big"))
	check("push", p, "small/big", enospc)
	// The server holds the file (and its space) until its session ends.
	if _, ok := waitUntil(func() bool { return srv.sessionsEnded() >= 1 }, time.Minute); !ok {
		t.Fatalf("server log:\n%s", srv.stderr.String())
	}
	os.Remove(filepath.Join(small, "big"))

	old := fastRandom(4, 6<<20)
	writeBytes(t, filepath.Join(small, "old"), old)
	p = e.run("push", "--atomic", "-b", "64K", "-c", "2", big, srv.remote("small/old"))
	check("push --atomic", p, "small/", "not enough space")
	if fileSum(t, filepath.Join(small, "old")) != bytesSum(old) {
		t.Error("push --atomic: a failed run changed the target")
	}
	if _, ok := waitUntil(func() bool { return srv.sessionsEnded() >= 2 }, time.Minute); !ok {
		t.Fatalf("server log:\n%s", srv.stderr.String())
	}
	if left := tempsIn(t, small); len(left) != 0 {
		t.Errorf("push --atomic: temporary files left: %v", left)
	}

	// The server serves on: a small push elsewhere succeeds.
	little := filepath.Join(local, "little")
	writeBytes(t, little, fastRandom(5, 1<<20))
	e.mustRun("push", "-b", "64K", little, srv.remote("elsewhere"))
	if srv.exited() {
		t.Fatal("server died")
	}

	// A local sync into the full filesystem, in place and atomic.
	dst := filepath.Join(small, "synced")
	p = e.startProc(e.cliHome, "sync", "--progress=never", "-b", "64K", big, dst)
	p.wait(30 * time.Second)
	check("sync", p, dst, enospc)
	if !strings.Contains(p.stderr.String(), "partly updated") {
		t.Errorf("sync into a full disk: stderr %q does not say the target is partly updated", p.stderr.String())
	}
	os.Remove(dst)
	p = e.startProc(e.cliHome, "sync", "--progress=never", "--atomic", "-b", "64K", big, filepath.Join(small, "old"))
	p.wait(30 * time.Second)
	check("sync --atomic", p, filepath.Join(small, "old")+" ", enospc)
	if fileSum(t, filepath.Join(small, "old")) != bytesSum(old) {
		t.Error("sync --atomic: a failed run changed the target")
	}
	if left := tempsIn(t, small); len(left) != 0 {
		t.Errorf("sync --atomic: temporary files left: %v", left)
	}
}

// stopCase: the stopped side of an op over a transport.
type stopCase struct{ transport, op, stopped string }

// stopPeer stops one side of a session (SIGSTOP) while the client holds
// midway, and checks that the other gives up after about the idle timeout,
// with an error; that the stopped side, resumed, fails too; and that a
// rerun converges.
func stopPeer(t *testing.T, e *faultEnv, c stopCase) {
	const idle = 2 * time.Second
	k := &killTrial{e: e, op: c.op, sc: scTransfer, transport: c.transport, idle: idle.String()}
	t.Run(c.transport+"/"+c.op+"/stop-"+c.stopped, func(t *testing.T) {
		k.setup(t)
		cl := e.clientHeld(k.holdAt(0.5), k.args()...)
		cl.waitHeld(t)
		victim := cl
		if c.stopped == "server" {
			victim = k.srv.proc
		}
		victim.signal(syscall.SIGSTOP)
		// The held client has been quiet since it held, a moment before
		// this: the other side's idle time counts from then.
		at := time.Now()
		cl.release() // a stopped client goes on once resumed
		var noticed time.Duration
		var why string
		if c.stopped == "server" {
			code, ok := cl.wait(idle + 10*time.Second)
			if !ok {
				t.Fatalf("the client still waits %v after the server stopped", idle+10*time.Second)
			}
			noticed, why = cl.end.Sub(at), strings.TrimSpace(cl.stderr.String())
			if code != exitTempFail {
				t.Errorf("client exit %d, want 75 (a silent server is worth retrying): %s", code, why)
			}
			victim.signal(syscall.SIGCONT)
			if _, ok := k.srv.waitLog("session failed", 0, 10*time.Second); !ok {
				t.Fatalf("the resumed server did not end the session:\n%s", k.srv.stderr.String())
			}
			k.srv.checkIdle(t)
		} else {
			when, ok := k.srv.waitLog("session failed", 0, idle+10*time.Second)
			if !ok {
				t.Fatalf("the server still waits %v after the client stopped:\n%s", idle+10*time.Second, k.srv.stderr.String())
			}
			lines := strings.Split(strings.TrimSpace(k.srv.stderr.String()), "\n")
			noticed, why = when.Sub(at), lines[len(lines)-1]
			victim.signal(syscall.SIGCONT)
			if code, ok := cl.wait(10 * time.Second); !ok || (code != exitError && code != exitTempFail) {
				t.Errorf("resumed client: exit %d (exited %v), want 1 or 75: %s", code, ok, cl.stderr.String())
			}
			k.srv.checkIdle(t)
		}
		// About the idle timeout: not at once (half of it leaves a loaded
		// machine all the time it may take between the hold and the stop),
		// and not long after it (the watchdog looks ten times per timeout;
		// five more seconds are for a slow machine's scheduling).
		if noticed < idle/2 || noticed > idle+5*time.Second {
			t.Errorf("noticed after %v; want about the idle timeout %v", noticed, idle)
		}
		t.Logf("%s %s: the %s stopped; the other side gave up after %v (idle timeout %v): %s",
			c.transport, c.op, c.stopped, noticed.Round(time.Millisecond), idle, why)
		e.mustRun(k.args()...)
		if fileSum(t, k.target()) != bytesSum(k.newData) {
			t.Fatal("the rerun did not converge")
		}
	})
}

// TestStoppedPeer: a peer whose process stops (SIGSTOP, a hung disk: its
// kernel still acknowledges TCP and answers keepalives) is given up after
// --idle-timeout (2 s here) by the other side, with an error, by what
// catches each case: the session watchdog when the survivor waits for a
// message (TCP), TCP_USER_TIMEOUT when it has data the stopped peer no
// longer takes (TCP, zero window), QUIC's idle timeout (the stopped process
// sends no acknowledgements). TestSoakStoppedPeer covers every combination.
func TestStoppedPeer(t *testing.T) {
	t.Parallel() // each has its own processes, identities and files
	e := newFaultEnv(t)
	for _, c := range []stopCase{{"tcp", "pull", "server"}, {"tcp", "push", "client"}, {"quic", "push", "server"}} {
		stopPeer(t, e, c)
	}
}

// TestSourceChanges: a source written to during a push or a pull (a block
// rewritten in place, or data appended) makes the run fail with "source
// changed", exit 1, never a silently mixed result reported as a sync; with
// --atomic the target stays the old file.
func TestSourceChanges(t *testing.T) {
	t.Parallel() // each has its own processes, identities and files
	e := newFaultEnv(t)
	for _, c := range []struct {
		op, change string
		atomic     bool
	}{{"push", "rewrite", false}, {"push", "append", true}, {"pull", "rewrite", false}} {
		name := c.op + "/" + c.change
		if c.atomic {
			name += "/atomic"
		}
		k := &killTrial{e: e, op: c.op, sc: scTransfer, atomic: c.atomic}
		t.Run(name, func(t *testing.T) {
			k.setup(t)
			src := filepath.Join(k.root, "f")
			if c.op == "push" {
				src = filepath.Join(k.local, "f")
			}
			// Change the source while the client holds midway: after the
			// source was opened, before the run could end.
			p := e.clientHeld(k.holdAt(0.5), k.args()...)
			p.waitHeld(t)
			f, err := os.OpenFile(src, os.O_WRONLY, 0)
			if err != nil {
				t.Fatal(err)
			}
			if c.change == "append" {
				_, err = f.WriteAt([]byte("more"), int64(len(k.newData)))
			} else {
				_, err = f.WriteAt(fastRandom(9, 1<<20), int64(len(k.newData)/2))
			}
			f.Close()
			if err != nil {
				t.Fatal(err)
			}
			p.release()
			code, ok := p.wait(30 * time.Second)
			if !ok {
				t.Fatal("the run did not end")
			}
			msg := strings.TrimSpace(p.stderr.String())
			t.Logf("exit %d: %s", code, msg)
			if code == 0 {
				t.Fatalf("a source changed during the run, and the run reported success: %s", p.stdout.String())
			}
			if code != exitTempFail || !strings.Contains(msg, "source changed") {
				t.Errorf("exit %d, %q: want 75 and \"source changed\"", code, msg)
			}
			if strings.Contains(p.stdout.String(), "verified") {
				t.Errorf("stdout says verified: %s", p.stdout.String())
			}
			if c.atomic && fileSum(t, k.target()) != bytesSum(k.oldData) {
				t.Error("--atomic: the failed run changed the target")
			}
		})
	}
}

// TestInterrupt: Ctrl-C (SIGINT) on push, pull and sync: the client stops
// at once with exit 130 and a one-line account of what was done; the
// server ends the session and goes idle; with --atomic the target is
// unchanged and no temporary file is left.
func TestInterrupt(t *testing.T) {
	t.Parallel() // each has its own processes, identities and files
	e := newFaultEnv(t)
	for _, c := range []struct {
		op     string
		atomic bool
	}{{"push", false}, {"pull", false}, {"push", true}, {"sync", false}, {"sync", true}} {
		name := c.op
		if c.atomic {
			name += "/atomic"
		}
		op := c.op
		if op == "sync" {
			op = "push" // the same files; sync runs locally below
		}
		k := &killTrial{e: e, op: op, sc: scTransfer, atomic: c.atomic}
		t.Run(name, func(t *testing.T) {
			k.setup(t)
			// The client holds midway, after it sent or wrote something,
			// until it has had its signal.
			var p *proc
			if c.op == "sync" {
				args := []string{e.bin, "sync", "--progress=never", "-b", k.sc.block, "-c", "2"}
				if c.atomic {
					args = append(args, "--atomic")
				}
				args = append(args, filepath.Join(k.local, "f"), filepath.Join(k.root, "f"))
				p = e.startHeld(k.holdAt(0.5), e.cliHome, args...)
			} else {
				p = e.clientHeld(k.holdAt(0.5), k.args()...)
			}
			p.waitHeld(t)
			p.signal(syscall.SIGINT) // which lets it go on
			at := time.Now()
			code, ok := p.wait(30 * time.Second)
			if !ok {
				t.Fatal("still running 30 s after SIGINT")
			}
			took := p.end.Sub(at)
			msg := strings.TrimSpace(p.stderr.String())
			t.Logf("exit %d after %v: %s", code, took.Round(time.Millisecond), msg)
			if code != 130 {
				t.Errorf("exit %d, want 130", code)
			}
			if strings.Count(msg, "\n") != 0 || !strings.HasPrefix(msg, "pdiffagent: interrupted by SIGINT: ") || !strings.Contains(msg, " s; ") {
				t.Errorf("stderr %q: want one line, \"pdiffagent: interrupted by SIGINT: … in N s; …\"", msg)
			}
			want := "partly updated"
			if c.atomic {
				want = "the target is unchanged (--atomic)"
			}
			if !strings.Contains(msg, want) {
				t.Errorf("stderr %q: want %q", msg, want)
			}
			if c.op != "sync" {
				if _, ok := k.srv.waitLog("session failed", 0, 5*time.Second); !ok {
					t.Errorf("the server did not end the session:\n%s", k.srv.stderr.String())
				}
				k.srv.checkIdle(t)
			}
			if c.atomic {
				if fileSum(t, k.target()) != bytesSum(k.oldData) {
					t.Error("--atomic: the interrupted run changed the target")
				}
				if left := tempsIn(t, filepath.Dir(k.target())); len(left) != 0 {
					t.Errorf("temporary files left: %v", left)
				}
			}
		})
	}
}

// TestLinkDown: the network goes away under a running push (both ends in
// a network namespace of their own whose loopback is set down midway:
// nothing is answered any more, not even by the kernel). Both sides give
// up after about --idle-timeout (2 s): TCP_USER_TIMEOUT or keepalives, or
// the QUIC idle timeout. With the link back, the server serves on and a
// rerun converges. Needs root, unshare, nsenter and ip; skipped otherwise.
func TestLinkDown(t *testing.T) {
	t.Parallel() // each has its own processes, identities and files
	if os.Geteuid() != 0 {
		t.Skip("not root: cannot make a network namespace")
	}
	for _, tool := range []string{"unshare", "nsenter", "ip"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("no %s", tool)
		}
	}
	e := newFaultEnv(t)
	const idle = 2 * time.Second
	for _, tr := range []string{"tcp", "quic"} {
		k := &killTrial{e: e, op: "push", sc: scTransfer, transport: tr, idle: idle.String()}
		t.Run(tr, func(t *testing.T) {
			k.setup(t)
			k.srv.kill() // replaced by one in a namespace of its own
			p := e.startCmd(e.srvHome, "unshare", "-n", "sh", "-c",
				`ip link set lo up && exec "$0" "$@"`, e.bin, "listen", "127.0.0.1:0", "--root", k.root,
				"--allow", e.cliFP, "--idle-timeout", idle.String())
			k.srv = e.waitServer(p, k.root)
			// in runs argv in the namespace; link sets its loopback up or down.
			in := func(argv ...string) []string {
				return append([]string{"nsenter", "-t", strconv.Itoa(p.cmd.Process.Pid), "-n"}, argv...)
			}
			link := func(state string) {
				argv := in("ip", "link", "set", "lo", state)
				if out, err := exec.Command(argv[0], argv[1:]...).CombinedOutput(); err != nil {
					t.Fatalf("link %s: %v: %s", state, err, out)
				}
			}
			client := append([]string{e.bin}, k.args()[:1]...)
			client = append(client, "--pin", e.srvFP, "--progress=never")
			client = append(client, k.args()[1:]...)
			c := e.startHeld(k.holdAt(0.5), e.cliHome, in(client...)...)
			c.waitHeld(t) // midway
			link("down")
			down := time.Now()
			c.release()
			code, ok := c.wait(idle + 10*time.Second)
			if !ok {
				t.Fatalf("the client still waits %v after the link went down", idle+10*time.Second)
			}
			cNoticed := c.end.Sub(down)
			at, ok := k.srv.waitLog("session failed", 0, idle+10*time.Second)
			if !ok {
				t.Fatalf("the server still waits %v after the link went down:\n%s", idle+10*time.Second, k.srv.stderr.String())
			}
			sNoticed := at.Sub(down)
			if code != exitTempFail {
				t.Errorf("client exit %d, want 75 (the link is worth retrying)", code)
			}
			lines := strings.Split(strings.TrimSpace(k.srv.stderr.String()), "\n")
			t.Logf("%s, link down: the client gave up after %v: %s", tr, cNoticed.Round(time.Millisecond), strings.TrimSpace(c.stderr.String()))
			t.Logf("%s, link down: the server gave up after %v: %s", tr, sNoticed.Round(time.Millisecond), lines[len(lines)-1])
			// Not long after the idle timeout: five more seconds are for a
			// slow machine's scheduling.
			for _, n := range []time.Duration{cNoticed, sNoticed} {
				if n > idle+5*time.Second {
					t.Errorf("noticed after %v; want about the idle timeout %v", n, idle)
				}
			}
			link("up")
			re := e.startCmd(e.cliHome, in(client...)...)
			if code, ok := re.wait(30 * time.Second); !ok || code != 0 {
				t.Fatalf("rerun with the link back: exit %d: %s", code, re.stderr.String())
			}
			if fileSum(t, k.target()) != bytesSum(k.newData) {
				t.Fatal("the rerun did not converge")
			}
		})
	}
}
