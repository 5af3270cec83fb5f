package agent

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pdiffagent/pdiffagent/engine"
	"github.com/pdiffagent/pdiffagent/sysio/sysiotest"
	"github.com/pdiffagent/pdiffagent/wire"
)

// The hostile-client soak: a server in a process of its own, with a memory
// budget, is worked by an allowed but hostile client (raw protocol: floods
// of Data on sessions with as many workers as it may get, blocks sent
// twice, sessions opened and left to gather workers that never come) while
// a legitimate client pushes and checks a file round after round. Every
// legitimate push must succeed, and the server's peak RSS (VmHWM) must stay
// within its budget plus a bounded slack, which the test reports.
// TestHostileSoakShort runs for a few seconds in `make test`; `make soak`
// runs TestHostileSoak for PDIFF_SOAK_TIME (default 2m).

const (
	// hostileBudget admits two hostile sessions (one receiving worker of
	// 16 MiB blocks reserves 112 MiB: engine.WorkerMemory), not three,
	// and leaves a legitimate push of 1 MiB blocks room for a worker (34
	// MiB) beside them.
	hostileBudget = 288 << 20
	hostileBlock  = 16 << 20
	legitBlock    = 1 << 20
	// hostileSlack bounds the server's RSS above its budget: the Go
	// runtime and its garbage-collection headroom, quic-go and TLS
	// buffers, pooled buffers awaiting collection.
	hostileSlack = 64 << 20
)

func TestHostileSoakShort(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	runHostileSoak(t, 5*time.Second)
}

// TestHostileSoakServer is the server's process (helper-process pattern);
// it does nothing unless started by runHostileSoak.
func TestHostileSoakServer(t *testing.T) {
	root := os.Getenv("PDIFF_HOSTILE_ROOT")
	if root == "" {
		t.Skip("helper process of the hostile soak")
	}
	id, err := NewIdentity()
	if err != nil {
		t.Fatal(err)
	}
	s, err := Listen(context.Background(), "127.0.0.1:0", ServerConfig{
		Root: root, Allow: strings.Split(os.Getenv("PDIFF_HOSTILE_ALLOW"), ","), Identity: id,
		MaxMemory: hostileBudget, MaxSessionsPerClient: 2, HandshakeTimeout: 2 * time.Second,
		IdleTimeout: 10 * time.Second, Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	fmt.Printf("%s %s\n", s.Addr(), s.Fingerprint())
	go s.Serve(context.Background())
	io.Copy(io.Discard, os.Stdin) // until the parent closes it
	fmt.Printf("%d\n", s.mem.peakUse())
	s.Close()
}

func runHostileSoak(t *testing.T, d time.Duration) {
	_, legit, _ := ids()
	// Two hostile identities, two sessions each (the per-client cap): 4 of
	// the budget's quarters' worth of workers, leaving the legitimate
	// client room.
	var hostile [2]*Identity
	for i := range hostile {
		var err error
		if hostile[i], err = NewIdentity(); err != nil {
			t.Fatal(err)
		}
	}
	// A tmpfs root: the floods write at memory speed, not the disk's.
	root := filepath.Join(t.TempDir(), "root")
	sysiotest.Mount(t, "tmpfs", root, "1200m")
	cmd := exec.Command(os.Args[0], "-test.run=^TestHostileSoakServer$", "-test.count=1")
	cmd.Env = append(os.Environ(), "PDIFF_HOSTILE_ROOT="+root,
		"PDIFF_HOSTILE_ALLOW="+legit.Fingerprint()+","+hostile[0].Fingerprint()+","+hostile[1].Fingerprint())
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
	out := bufio.NewReader(stdout)
	line, err := out.ReadString('\n')
	if err != nil {
		t.Fatalf("server process: %v", err)
	}
	addr, pin, _ := strings.Cut(strings.TrimSpace(line), " ")

	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	var wg sync.WaitGroup
	var attacks, cut, busy atomic.Int64
	for g := range 4 {
		hcfg := ClientConfig{Identity: hostile[g%2], Pin: pin, DialTimeout: 5 * time.Second}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ctx.Err() == nil; i++ {
				attacks.Add(1)
				if err := hostileRound(ctx, hcfg, addr, g, i); err != nil {
					cut.Add(1)
					var pe *engine.PeerError
					if errors.As(err, &pe) && pe.Code == wire.CodeBusy {
						cut.Add(-1)
						busy.Add(1)
						select { // the attacker's pacing, not a wait for a state
						case <-ctx.Done():
						case <-time.After(20 * time.Millisecond):
						}
					}
				}
			}
		}()
	}
	// The legitimate client: push, check, round after round.
	lcfg := ClientConfig{Identity: legit, Pin: pin, DialTimeout: 5 * time.Second}
	src := filepath.Join(t.TempDir(), "src")
	rounds := 0
	for ; rounds == 0 || ctx.Err() == nil; rounds++ {
		data := randomBytes(uint64(rounds), 8<<20+rounds)
		writeFile(t, src, data)
		lcfg.Transport = transports[rounds%len(transports)]
		p := engine.Params{Session: engine.Session{BlockSize: legitBlock, Workers: 4}}
		if _, err := Push(context.Background(), lcfg, src, addr+"/legit", p, engine.Options{}); err != nil {
			t.Fatalf("legitimate push %d (%s) under attack: %v", rounds, lcfg.Transport, err)
		}
		if !bytes.Equal(readFile(t, filepath.Join(root, "legit")), data) {
			t.Fatalf("legitimate push %d: target differs", rounds)
		}
	}
	cancel()
	wg.Wait()
	hwm := procStatus(t, cmd.Process.Pid, "VmHWM")
	stdin.Close()
	line, _ = out.ReadString('\n')
	peak, _ := strconv.ParseInt(strings.TrimSpace(line), 10, 64)
	t.Logf("%d legitimate pushes, %d hostile sessions (%d refused busy, %d cut off); server: budget %d MiB, at most %.1f MiB of it reserved, peak RSS %.1f MiB (%.1f MiB above the peak reservation)",
		rounds, attacks.Load(), busy.Load(), cut.Load(), hostileBudget>>20, float64(peak)/(1<<20), float64(hwm)/(1<<20), float64(hwm-peak)/(1<<20))
	if peak > hostileBudget {
		t.Errorf("server reserved %.1f MiB: more than its budget %d MiB", float64(peak)/(1<<20), hostileBudget>>20)
	}
	if raceEnabled {
		// The server is this test binary, built with -race: its shadow memory
		// inflates RSS several times over, so the RSS bound is checked by the
		// run without the race detector (make test runs both), not here.
		t.Logf("race detector on: peak RSS %.1f MiB not checked against the budget", float64(hwm)/(1<<20))
	} else if hwm > hostileBudget+hostileSlack {
		t.Errorf("server peak RSS %.1f MiB: more than its budget %d MiB + slack %d MiB", float64(hwm)/(1<<20), hostileBudget>>20, hostileSlack>>20)
	}
}

// procStatus reads a "kB" field of /proc/PID/status, in bytes.
func procStatus(t *testing.T, pid int, field string) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Skipf("no /proc: %v", err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, field+":"); ok {
			n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return n << 10
		}
	}
	t.Fatalf("/proc/%d/status has no %s", pid, field)
	return 0
}

// hostileRound is one hostile session, of a kind chosen by i.
func hostileRound(ctx context.Context, cfg ClientConfig, addr string, g, i int) error {
	cfg.Transport = transports[(g+i)%len(transports)]
	pc, err := cfg.populate(addr)
	if err != nil {
		return err
	}
	c := &clientConn{cfg: pc, hostport: addr, tlsConf: clientTLSConfig(pc.Identity, pc.Pin, nil)}
	if cfg.Transport == TransportQUIC {
		c.quic = make([]lazyConn, 2)
	}
	defer c.close(context.Background(), errors.New("hostile round over"))
	const size = 8 * hostileBlock
	o := &wire.Open{Op: wire.OpPush, Path: fmt.Sprintf("h%d", g), Size: size, BlockSize: hostileBlock,
		Workers: 16, Strong: uint8(engine.SHA256), Flags: wire.FlagWholeFile}
	rand.Read(o.SessionID[:])
	ctl, err := c.openStream(ctx, 0)
	if err != nil {
		return err
	}
	if err := ctl.Send(o); err != nil {
		return err
	}
	r, err := expect[*wire.OpenReply](ctl, time.Now().Add(10*time.Second))
	if err != nil {
		return err
	}
	n := int(r.Workers)
	streams := []*netStream{ctl}
	switch i % 5 {
	case 3: // gather no workers: hold the share until the handshake timeout
		_, err := ctl.Recv()
		return err
	case 4: // the same block over and over
		for range 64 {
			if err := ctl.Send(&wire.Data{Block: 0, RawLen: hostileBlock, Payload: hostilePayload}); err != nil {
				return err
			}
		}
		_, err := ctl.Recv()
		return err
	}
	// Flood: every worker sends its whole stripe as fast as it can, then
	// hangs up before the Final.
	for w := 1; w < n; w++ {
		ns, err := c.openStream(ctx, w)
		if err != nil {
			return err
		}
		if err := ns.Send(&wire.Attach{SessionID: o.SessionID, Worker: uint16(w)}); err != nil {
			return err
		}
		streams = append(streams, ns)
	}
	blocks := int64(size / hostileBlock)
	var wg sync.WaitGroup
	for w, ns := range streams {
		wg.Add(1)
		go func() {
			defer wg.Done()
			first, end := blocks*int64(w)/int64(n), blocks*int64(w+1)/int64(n)
			for b := first; b < end && ctx.Err() == nil; b++ {
				if ns.Send(&wire.Data{Block: uint64(b), RawLen: hostileBlock, Payload: hostilePayload}) != nil {
					return
				}
			}
		}()
	}
	wg.Wait()
	return nil
}

var hostilePayload = func() []byte {
	b := make([]byte, hostileBlock)
	rand.Read(b)
	return b
}()
