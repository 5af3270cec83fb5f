//go:build unix

package main

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"
)

// joinTimeout bounds a joiner's exchange with the first process.
const joinTimeout = 10 * time.Second

// rendezvousDir is the private directory of the user's rendezvous
// sockets: $XDG_RUNTIME_DIR (or the temporary directory)/pdiffagent-UID,
// created 0700, refused if it is a symlink, someone else's, or open to
// others.
func rendezvousDir() (string, error) {
	base := os.Getenv("XDG_RUNTIME_DIR")
	if base == "" {
		base = os.TempDir()
	}
	uid := os.Getuid()
	dir := filepath.Join(base, fmt.Sprintf("pdiffagent-%d", uid))
	if err := os.Mkdir(dir, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		return "", err
	}
	fi, err := os.Lstat(dir)
	if err != nil {
		return "", err
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !fi.IsDir() || !ok || int(st.Uid) != uid || fi.Mode().Perm()&0o077 != 0 {
		return "", fmt.Errorf("rendezvous directory %s: not a private directory of uid %d (mode %v)", dir, uid, fi.Mode())
	}
	return dir, nil
}

// rendezvous is where the first serve --stdio of a session takes the
// pipes of the joining ones: a unix socket in rendezvousDir named by the
// session's random id, removed when every token was used or the session
// ends. A joiner sends its token, the digest of its policy and its stdin
// and stdout descriptors (SCM_RIGHTS: no byte is copied through it); each
// token admits one pipe, once.
type rendezvous struct {
	id     [joinIDSize]byte
	policy [sha256.Size]byte
	ln     *net.UnixListener
	joins  chan io.ReadWriteCloser // admitted pipes, to ServeTunnel
	done   chan struct{}           // closed by close

	mu      sync.Mutex
	secrets [][joinSecretSize]byte // the tokens not used yet
	joiners []*net.UnixConn        // held open until close: each joiner waits for its end
	wg      sync.WaitGroup         // admit goroutines
	once    sync.Once
}

// openRendezvous makes a rendezvous for k joins under policy (serve's
// flags) and returns the tokens to give the client.
func openRendezvous(k int, policy string) (*rendezvous, []joinToken, error) {
	dir, err := rendezvousDir()
	if err != nil {
		return nil, nil, err
	}
	rv := &rendezvous{policy: sha256.Sum256([]byte(policy)), joins: make(chan io.ReadWriteCloser),
		done: make(chan struct{}), secrets: make([][joinSecretSize]byte, k)}
	toks := make([]joinToken, k)
	if _, err := rand.Read(rv.id[:]); err != nil {
		return nil, nil, err
	}
	for i := range toks {
		if _, err := rand.Read(rv.secrets[i][:]); err != nil {
			return nil, nil, err
		}
		copy(toks[i][:], rv.id[:])
		copy(toks[i][joinIDSize:], rv.secrets[i][:])
	}
	sweepRendezvous(dir, time.Now().Add(-staleAge))
	path := filepath.Join(dir, hex.EncodeToString(rv.id[:])+".sock")
	if rv.ln, err = net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"}); err != nil {
		return nil, nil, err
	}
	rv.wg.Add(1)
	go rv.accept()
	return rv, toks, nil
}

// staleAge is how old a socket that refuses connections must be before
// sweepRendezvous removes it (younger, it may be between bind and listen).
const staleAge = time.Minute

// sweepRendezvous removes the sockets of first processes that died without
// removing theirs (SIGKILL): older than before, and nothing listening.
func sweepRendezvous(dir string, before time.Time) {
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		fi, err := e.Info()
		if err != nil || fi.Mode().Type() != fs.ModeSocket || !fi.ModTime().Before(before) {
			continue
		}
		path := filepath.Join(dir, e.Name())
		c, err := net.DialUnix("unix", nil, &net.UnixAddr{Name: path, Net: "unix"})
		if err == nil {
			c.Close()
		} else if errors.Is(err, syscall.ECONNREFUSED) {
			os.Remove(path)
		}
	}
}

func (rv *rendezvous) accept() {
	defer rv.wg.Done()
	for {
		c, err := rv.ln.AcceptUnix()
		if err != nil {
			return // closed: every token used, or the session ended
		}
		rv.wg.Add(1)
		go func() {
			defer rv.wg.Done()
			rv.admit(c)
		}()
	}
}

// admit takes one joiner's pipe: it answers the joiner 0 (admitted: it
// then waits for the end of the session) or 1 and the reason.
func (rv *rendezvous) admit(c *net.UnixConn) {
	c.SetDeadline(time.Now().Add(joinTimeout))
	msg := make([]byte, joinTokenSize+sha256.Size)
	in, out, err := recvPipe(c, msg)
	if err == nil {
		err = rv.check(msg)
	}
	if err != nil {
		if in != nil {
			in.Close()
			out.Close()
		}
		c.Write(append([]byte{1}, err.Error()...))
		c.Close()
		return
	}
	pipe := filePipe{in, out}
	if _, err := out.Write(appendOK(nil)); err != nil {
		pipe.Close()
		c.Close()
		return
	}
	c.Write([]byte{0})
	c.SetDeadline(time.Time{})
	rv.mu.Lock()
	rv.joiners = append(rv.joiners, c)
	rv.mu.Unlock()
	select {
	case rv.joins <- pipe:
	case <-rv.done:
		pipe.Close()
	}
}

// check uses the token in msg, if it is one not used yet, and compares the
// joiner's policy with ours. The socket goes once every token was used.
func (rv *rendezvous) check(msg []byte) error {
	var tok joinToken
	copy(tok[:], msg)
	rv.mu.Lock()
	defer rv.mu.Unlock()
	found := -1
	for i := range rv.secrets {
		if subtle.ConstantTimeCompare(rv.secrets[i][:], tok.secret()) == 1 {
			found = i
		}
	}
	if subtle.ConstantTimeCompare(tok.id(), rv.id[:]) != 1 || found < 0 {
		return errors.New("unknown or used token")
	}
	rv.secrets = append(rv.secrets[:found], rv.secrets[found+1:]...)
	if len(rv.secrets) == 0 {
		rv.ln.Close()
	}
	if subtle.ConstantTimeCompare(msg[joinTokenSize:], rv.policy[:]) != 1 {
		return errors.New("the joining serve --stdio has other policy flags than the session's first (a different forced command?)")
	}
	return nil
}

// close removes the socket, refuses the joins still on their way and
// releases the joiners (their processes exit).
func (rv *rendezvous) close() {
	rv.once.Do(func() {
		close(rv.done)
		rv.ln.Close() // also removes the socket
		rv.wg.Wait()
		for _, c := range rv.joiners {
			c.Close()
		}
	})
}

// joinSession is serve --stdio given a join preamble: it hands its stdin
// and stdout (in, out) to the session's first process and waits for the
// end of the session; a refusal is answered on out as well.
func joinSession(ctx context.Context, tok joinToken, policy string, in, out *os.File) error {
	c, err := dialRendezvous(tok, policy, in, out)
	if err != nil {
		out.Write(appendRefuse(nil, err.Error()))
		return err
	}
	in.Close() // the first process has them now
	out.Close()
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()
	io.Copy(io.Discard, c) // until the first process ends the session
	c.Close()
	return nil
}

func dialRendezvous(tok joinToken, policy string, in, out *os.File) (*net.UnixConn, error) {
	dir, err := rendezvousDir()
	if err != nil {
		return nil, err
	}
	path := filepath.Join(dir, hex.EncodeToString(tok.id())+".sock")
	c, err := net.DialUnix("unix", nil, &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		return nil, &joinRefusedError{"no session to join for this token (it ended, or never was)"}
	}
	c.SetDeadline(time.Now().Add(joinTimeout))
	h := sha256.Sum256([]byte(policy))
	if err := sendPipe(c, append(tok[:], h[:]...), in, out); err != nil {
		c.Close()
		return nil, err
	}
	var status [1]byte
	if _, err := io.ReadFull(c, status[:]); err != nil {
		c.Close()
		return nil, fmt.Errorf("join: the session's first process did not answer: %w", err)
	}
	if status[0] != 0 {
		why, _ := io.ReadAll(io.LimitReader(c, maxJoinMessage))
		c.Close()
		return nil, &joinRefusedError{string(why)}
	}
	c.SetDeadline(time.Time{})
	return c, nil
}

// sendPipe sends msg and the descriptors of in and out.
func sendPipe(c *net.UnixConn, msg []byte, in, out *os.File) error {
	_, _, err := c.WriteMsgUnix(msg, syscall.UnixRights(int(in.Fd()), int(out.Fd())), nil)
	return err
}

// recvPipe reads len(msg) bytes and the two descriptors sent with them
// (received close-on-exec, made non-blocking).
func recvPipe(c *net.UnixConn, msg []byte) (in, out *os.File, err error) {
	oob := make([]byte, syscall.CmsgSpace(2*4))
	n, oobn, flags, _, err := c.ReadMsgUnix(msg, oob)
	if err != nil {
		return nil, nil, err
	}
	var fds []int
	if cms, err := syscall.ParseSocketControlMessage(oob[:oobn]); err == nil {
		for i := range cms {
			if f, err := syscall.ParseUnixRights(&cms[i]); err == nil {
				fds = append(fds, f...)
			}
		}
	}
	if len(fds) != 2 || flags&syscall.MSG_CTRUNC != 0 {
		for _, fd := range fds {
			syscall.Close(fd)
		}
		return nil, nil, errors.New("a join carries two descriptors")
	}
	// Non-blocking, so that Go's poller serves them and Close ends a read
	// in progress (a blocked read would hold the multiplexer's Close).
	for _, fd := range fds {
		syscall.SetNonblock(fd, true)
	}
	in, out = os.NewFile(uintptr(fds[0]), "joined stdin"), os.NewFile(uintptr(fds[1]), "joined stdout")
	if _, err := io.ReadFull(c, msg[n:]); err != nil {
		in.Close()
		out.Close()
		return nil, nil, err
	}
	return in, out, nil
}

// filePipe is a joined ssh session's stdin and stdout as one pipe.
type filePipe struct{ r, w *os.File }

func (p filePipe) Read(b []byte) (int, error)  { return p.r.Read(b) }
func (p filePipe) Write(b []byte) (int, error) { return p.w.Write(b) }
func (p filePipe) Close() error {
	p.r.Close()
	return p.w.Close()
}
