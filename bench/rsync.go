package bench

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// RsyncArgs are the client's options: update the target in place, by
// delta even though both ends are on one machine. -I makes rsync compare
// every file instead of trusting size and mtime. The block size is rsync's
// own choice: about the square root of the file size, at most 128 KiB
// (16 KiB at 256 MiB, 45 KiB at 2 GiB).
// --stats makes it print the bytes it sent and received (rsyncStats).
var RsyncArgs = []string{"--inplace", "--no-whole-file", "-I", "--stats"}

// RsyncTool returns the "rsync" tool: every sync starts an rsync daemon
// on a free loopback port whose one module is the target's directory, pushes
// to it with RsyncArgs and stops it. The client's and the daemon's peak RSS
// are recorded (the daemon's includes the processes it forked for the
// transfer, summed). Without rsync in PATH the tool is skipped, with the reason.
func RsyncTool() Tool { return rsyncTool(RsyncArgs, "") }

// RsyncTreeArgs are the tree case's options: archive mode (modes, mtimes,
// links, owners as root) and files updated in place by delta; rsync's
// quick check (size and mtime) skips unchanged files, as pdiffagent's does.
var RsyncTreeArgs = []string{"-a", "--inplace", "--no-whole-file", "--stats"}

// RsyncTreeTool is RsyncTool for the tree case: its Sync takes two
// directories and brings the contents of the second up to date with the
// first's (rsync -a SRC/ …/DST), with RsyncTreeArgs.
func RsyncTreeTool() Tool { return rsyncTool(RsyncTreeArgs, "/") }

func rsyncTool(args []string, srcSuffix string) Tool {
	t := Tool{Name: "rsync"}
	path, err := exec.LookPath("rsync")
	if err != nil {
		t.Skip = "rsync not found in PATH (`make bench` installs it with apt-get when run as root)"
		return t
	}
	t.Sync = func(ctx context.Context, src, dst string) (Outcome, error) {
		return rsyncOnce(ctx, path, args, src+srcSuffix, dst)
	}
	return t
}

// RsyncVersion is the first line of `rsync --version`, or "".
func RsyncVersion() string {
	out, err := exec.Command("rsync", "--version").Output()
	if err != nil {
		return ""
	}
	line, _, _ := strings.Cut(string(out), "\n")
	return strings.Join(strings.Fields(line), " ")
}

func rsyncOnce(ctx context.Context, rsync string, opts []string, src, dst string) (Outcome, error) {
	var out Outcome
	conf, err := os.MkdirTemp("", "pdiffagent-rsyncd-")
	if err != nil {
		return out, err
	}
	defer os.RemoveAll(conf)
	port, err := freePort()
	if err != nil {
		return out, err
	}
	cfgPath := filepath.Join(conf, "rsyncd.conf")
	if err := os.WriteFile(cfgPath, []byte(rsyncdConf(conf, filepath.Dir(dst), os.Geteuid() == 0)), 0o600); err != nil {
		return out, err
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	d, _, err := StartDaemon(ctx, WatchTree, false, 0, rsync, "--daemon", "--no-detach", "--config="+cfgPath,
		"--address=127.0.0.1", "--port="+strconv.Itoa(port))
	if err != nil {
		return out, err
	}
	if err := waitPort(ctx, addr, 5*time.Second); err != nil {
		d.Stop()
		return out, fmt.Errorf("rsync daemon: %w", err)
	}
	args := append(append([]string{}, opts...), src,
		fmt.Sprintf("rsync://%s/bench/%s", addr, filepath.Base(dst)))
	start := time.Now()
	stdout, cu, err := RunChild(ctx, WatchProcess, rsync, args...)
	out.Seconds = time.Since(start).Seconds()
	if err == nil {
		out.Stats.BytesWire, out.Stats.BytesSent, err = rsyncStats(stdout)
	}
	su, serr := d.Stop()
	out.ClientRSS, out.ServerRSS, out.ClientCPU, out.ServerCPU = cu.PeakRSS, su.PeakRSS, cu.CPU, su.CPU
	if err == nil {
		err = serr
	}
	return out, err
}

// rsyncdConf is a daemon configuration with one writable module "bench"
// at dir, symlinks kept as they are, its lock and log files in confDir.
func rsyncdConf(confDir, dir string, root bool) string {
	var b strings.Builder
	fmt.Fprintf(&b, "use chroot = no\nlock file = %s\nlog file = %s\npid file = \n",
		filepath.Join(confDir, "rsyncd.lock"), filepath.Join(confDir, "rsyncd.log"))
	// Without chroot rsync munges symlinks by default ("/rsyncd-munged/"
	// before their targets): the tree case copies them as they are.
	fmt.Fprintf(&b, "[bench]\npath = %s\nread only = false\nmunge symlinks = no\n", dir)
	if root { // otherwise the daemon runs as the user anyway
		b.WriteString("uid = root\ngid = root\n")
	}
	return b.String()
}

// freePort is a TCP port on loopback that was free a moment ago.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// waitPort polls until addr accepts a TCP connection.
func waitPort(ctx context.Context, addr string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("%s not listening after %v: %w", addr, timeout, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// rsyncStats reads rsync --stats output: the total bytes sent and received
// (wire) and the literal data (sent, the changed bytes it had to send).
func rsyncStats(out []byte) (wire, sent int64, err error) {
	var total, recv, lit int64 = -1, -1, -1
	for _, line := range strings.Split(string(out), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		f := strings.Fields(v)
		if len(f) == 0 {
			continue
		}
		n, perr := strconv.ParseInt(strings.ReplaceAll(f[0], ",", ""), 10, 64)
		if perr != nil {
			continue
		}
		switch strings.TrimSpace(k) {
		case "Total bytes sent":
			total = n
		case "Total bytes received":
			recv = n
		case "Literal data":
			lit = n
		}
	}
	if total < 0 || recv < 0 || lit < 0 {
		return 0, 0, fmt.Errorf("rsync --stats: no byte counts in its output%s", tail(out))
	}
	return total + recv, lit, nil
}
