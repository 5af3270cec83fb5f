package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/pdiffagent/pdiffagent/agent"
	"github.com/pdiffagent/pdiffagent/engine"
	"github.com/spf13/pflag"
)

// sshOptions are push's and pull's flags for [user@]host:/path remotes.
type sshOptions struct {
	Rsh         string
	RemotePath  string
	Connections int
}

// defaultRsh is --rsh when not given: ssh preferring AES-GCM, which costs
// its client 1.0 CPU-second per GiB here against 1.7 for OpenSSH's first
// choice, chacha20-poly1305 (AES-NI and VAES; OpenSSH 9.2, 2 GiB through
// `ssh host 'cat >/dev/null'`, twice each). The list is OpenSSH's own
// default set reordered (but for aes192-ctr), so that any server that
// speaks one of them still works; -e ssh gives ssh's own order.
var defaultRsh = []string{"ssh", "-c", "aes128-gcm@openssh.com,chacha20-poly1305@openssh.com,aes256-gcm@openssh.com,aes128-ctr,aes256-ctr"}

// command is --rsh split at spaces, or defaultRsh.
func (o *sshOptions) command() []string {
	if rsh := strings.Fields(o.Rsh); len(rsh) > 0 {
		return rsh
	}
	return defaultRsh
}

// AddFlags registers -e/--rsh, --remote-path and --ssh-connections.
func (o *sshOptions) AddFlags(f *pflag.FlagSet) {
	f.StringVarP(&o.Rsh, "rsh", "e", "", "for a [user@]host:/path remote: the `COMMAND` that runs pdiffagent serve --stdio on the far side (split at spaces, e.g. \"ssh -p 2222 -i key\"), as rsync's -e (default: ssh, preferring the AES-GCM ciphers)")
	f.StringVar(&o.RemotePath, "remote-path", "pdiffagent", "for a [user@]host:/path remote: the far side's pdiffagent `PROGRAM`, read by its shell (\"sudo pdiffagent\" works)")
	f.IntVar(&o.Connections, "ssh-connections", 1, "for a [user@]host:/path remote: `N` ssh sessions that carry one sync, the workers spread over them (bonded links, more than one core for ssh's cipher)")
}

// parseSSHRemote recognises scp's and rsync's [user@]host:path, a colon
// not followed by a port number: dest is [user@]host and path the rest.
// host:port/path and [v6]:port/path are not ssh remotes.
func parseSSHRemote(remote string) (dest, path string, ok bool) {
	if strings.HasPrefix(remote, "[") {
		if i := strings.Index(remote, "]"); i >= 0 && strings.HasPrefix(remote[i+1:], ":") {
			rest := remote[i+2:]
			if isPort(rest) {
				return "", "", false
			}
			return remote[1:i], rest, true
		}
		return "", "", false
	}
	i := strings.IndexByte(remote, ':')
	if i <= 0 {
		return "", "", false
	}
	dest, path = remote[:i], remote[i+1:]
	if strings.Contains(dest, "/") || (!strings.Contains(dest, "@") && isPort(path)) {
		return "", "", false
	}
	return dest, path, true
}

// isPort reports whether s starts with a port number: digits, then "/" or
// the end.
func isPort(s string) bool {
	n := strings.IndexByte(s, '/')
	if n < 0 {
		n = len(s)
	}
	if n == 0 {
		return false
	}
	for _, r := range s[:n] {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// sshTunnel is the pipe to `pdiffagent serve --stdio` run through ssh.
type sshTunnel struct {
	io.Reader // the far side's stdout
	io.WriteCloser
	cmd  *exec.Cmd
	once sync.Once
	err  error
}

// startTunnels runs the far side for a session on path (as the user wrote
// it): an absolute path is served beneath the root / (or the forced
// command's --root), a relative one beneath the login directory. With
// --ssh-connections N > 1 the first far process hands out N-1 tokens
// (sshjoin.go) and N-1 more ssh sessions join it; it then serves the
// session over all N pipes.
func (o *sshOptions) startTunnels(ctx context.Context, dest, path, fallback string) ([]*sshTunnel, string, error) {
	rsh := o.command()
	if o.Connections < 1 || o.Connections > maxJoins+1 {
		return nil, "", usageErrorf("--ssh-connections %d: want 1 to %d", o.Connections, maxJoins+1)
	}
	remote := []string{o.RemotePath, "serve", "--stdio"} // the far shell reads RemotePath, as rsync's --rsync-path
	switch {
	case strings.HasPrefix(path, "/"):
		path = strings.TrimLeft(path, "/")
	default:
		remote = append(remote, "--root", ".")
	}
	if path == "" || strings.HasSuffix(path, "/") {
		path += fallback
	}
	argv := slices.Concat(rsh[1:], []string{dest, strings.Join(remote, " ")})
	first, err := o.startSSH(ctx, rsh[0], argv)
	if err != nil || o.Connections == 1 {
		return []*sshTunnel{first}, path, err
	}
	tuns := make([]*sshTunnel, o.Connections)
	tuns[0] = first
	closeAll := func() { closeTunnels(tuns) }
	toks, err := first.exchange(appendOffer(nil, o.Connections-1), o.Connections-1)
	if err != nil {
		closeAll()
		return nil, "", fmt.Errorf("ssh connection 1: %w", err)
	}
	errs := make([]error, len(tuns))
	var wg sync.WaitGroup
	for i, tok := range toks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			t, err := o.startSSH(ctx, rsh[0], argv)
			if err == nil {
				tuns[i+1] = t
				_, err = t.exchange(appendJoin(nil, tok), 0)
			}
			if err != nil {
				errs[i+1] = fmt.Errorf("ssh connection %d: %w", i+2, err)
			}
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		closeAll()
		return nil, "", err
	}
	return tuns, path, nil
}

// startSSH starts one ssh session running argv on the far side.
func (o *sshOptions) startSSH(ctx context.Context, rsh string, argv []string) (*sshTunnel, error) {
	cmd := exec.CommandContext(ctx, rsh, argv...)
	cmd.Stderr = os.Stderr // ssh's and the far side's messages
	cmd.WaitDelay = 5 * time.Second
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("--rsh %q: %w", strings.Join(o.command(), " "), err)
	}
	return &sshTunnel{Reader: out, WriteCloser: in, cmd: cmd}, nil
}

// exchange sends a join preamble and reads the answer: k tokens, or none.
func (t *sshTunnel) exchange(msg []byte, k int) ([]joinToken, error) {
	if _, err := t.Write(msg); err != nil {
		return nil, err
	}
	toks, err := readJoinReply(t, k)
	var refused *joinRefusedError
	if err != nil && !errors.As(err, &refused) {
		if cerr := t.Close(); cerr != nil { // the far side's exit says more
			err = fmt.Errorf("%w (%v)", err, cerr)
		}
	}
	return toks, err
}

// Close ends the far side's input and waits for it to exit, once (the
// multiplexer closes it too).
func (t *sshTunnel) Close() error {
	t.once.Do(func() {
		t.WriteCloser.Close()
		t.err = t.cmd.Wait()
		var exit *exec.ExitError
		if errors.As(t.err, &exit) {
			t.err = fmt.Errorf("%s: exit status %d", t.cmd.Path, exit.ExitCode())
		}
	})
	return t.err
}

// closeTunnels closes the ssh sessions of one far process, all at once:
// the first far process ends when its first pipe does and then lets the
// joined ones go, but each serves its pipe until that pipe ends too.
func closeTunnels(tuns []*sshTunnel) error {
	errs := make([]error, len(tuns))
	var wg sync.WaitGroup
	for i, t := range tuns {
		if t == nil {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = t.Close()
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// runRemoteSSH is runRemote for a [user@]host:path remote: every run (and
// every retry) starts `pdiffagent serve --stdio` on the far side through
// --rsh and runs the session over its pipe.
func runRemoteSSH(ctx context.Context, opts *remoteOptions, p engine.Params, push bool, local, dest, rpath string) error {
	if isTree(push, local, rpath) {
		return runRemoteSSHTree(ctx, opts, p, push, local, dest, rpath)
	}
	if !push && (rpath == "" || strings.HasSuffix(rpath, "/")) {
		return usageErrorf("pull needs a file: [user@]host:/path/to/file")
	}
	if err := opts.check(p, push, local); err != nil {
		return err
	}
	cfg := opts.sshClientConfig()
	rep, eopt, err := opts.prepare(&cfg, p, push, local)
	if err != nil {
		return err
	}
	var out agent.Outcome
	err = opts.retryOptions.do(ctx, os.Stderr, rep.reset, func() error {
		tuns, path, err := opts.startTunnels(ctx, dest, rpath, filepath.Base(local))
		if err != nil {
			return err
		}
		c := cfg
		c.Tunnel = tuns[0]
		for _, t := range tuns[1:] {
			c.Tunnels = append(c.Tunnels, t)
		}
		if push {
			out, err = agent.Push(ctx, c, local, path, p, eopt)
		} else {
			out, err = agent.Pull(ctx, c, path, local, p, eopt)
		}
		if cerr := closeTunnels(tuns); err == nil && cerr != nil && ctx.Err() == nil {
			err = cerr
		}
		return err
	})
	if opts.Verbose > 0 && err == nil {
		fmt.Fprintf(os.Stderr, "%s over ssh (%s): %d workers on %d pipe(s)\n", dest, strings.Join(opts.command(), " "), out.Workers, out.Connections)
	}
	return rep.finish(ctx, result{Stats: out.Stats, Transport: out.Transport, Connections: out.Connections}, opts.atomicHint(err))
}

// sshClientConfig is the client configuration of a session over ssh, file
// or tree: the idle timeout, --atomic, and a log on stderr at warnings
// (debug with -vv).
func (opts *remoteOptions) sshClientConfig() agent.ClientConfig {
	level := slog.LevelWarn
	if opts.Verbose > 1 {
		level = slog.LevelDebug
	}
	return agent.ClientConfig{IdleTimeout: opts.IdleTimeout, Atomic: opts.Atomic,
		Log: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))}
}
