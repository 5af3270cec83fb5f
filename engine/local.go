package engine

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sync"
	"time"

	"github.com/pdiffagent/pdiffagent/sysio"
)

// SyncLocal brings the file or block device dst up to date with src, both
// local, through in-memory streams: the same engine as across a network,
// without the encoding. p.Size is taken from src. A missing dst is created
// as a regular file, unless p.DryRun.
func SyncLocal(ctx context.Context, src, dst string, p Params, opt Options) (Stats, error) {
	return syncLocal(ctx, src, dst, p, opt, false)
}

// SyncLocalAtomic is SyncLocal with dst replaced only at the end: the sync
// runs into a temporary file beside dst that starts as a reflink clone or a
// copy of it (sysio.Replace), and that takes dst's name, fsynced, only once
// the result is verified. Interrupted at any point, dst is either the
// complete old file or the complete new one. dst must be a regular file or
// missing; the filesystem needs room for both copies unless it can clone.
// A dry run writes nothing and is the same as SyncLocal's.
func SyncLocalAtomic(ctx context.Context, src, dst string, p Params, opt Options) (Stats, error) {
	return syncLocal(ctx, src, dst, p, opt, !p.DryRun)
}

func syncLocal(ctx context.Context, src, dst string, p Params, opt Options, atomic bool) (Stats, error) {
	start := time.Now()
	sf, err := sysio.Open(src, sysio.ReadOnly, sysio.Options{Direct: opt.Direct})
	if err != nil {
		return Stats{}, err
	}
	defer sf.Close()
	source, err := NewSource(sf)
	if err != nil {
		return Stats{}, err
	}
	if p, err = p.Bind(source.Size); err != nil {
		return Stats{}, err
	}
	var (
		df   *sysio.File
		repl *sysio.Replacement
	)
	if atomic {
		if repl, err = replaceTarget(ctx, sf, src, dst, opt); err != nil {
			return Stats{}, err
		}
		defer repl.Close() // removes the temporary file unless committed
		df = repl.File
	} else {
		if df, err = openTarget(dst, p.DryRun, opt); err != nil {
			return Stats{}, err
		}
		if df != nil {
			defer df.Close()
			if same, err := sameFile(sf, df); err != nil || same {
				return Stats{}, errors.Join(err, fmt.Errorf("%s and %s are the same file", src, dst))
			}
		}
	}
	sendSide, recvSide := make([]Stream, p.Workers), make([]Stream, p.Workers)
	for i := range sendSide {
		sendSide[i], recvSide[i] = Pipe()
	}
	sendOpt := opt
	recvOpt := opt
	recvOpt.Progress = nil // the sender reports comparison; the receiver's writes are counted below
	if opt.Progress != nil {
		recvOpt.Progress = &Progress{}
		stop := mirrorWritten(opt.Progress, recvOpt.Progress)
		defer stop()
	}
	var wg sync.WaitGroup
	var sendErr error
	wg.Add(1)
	go func() {
		defer wg.Done()
		_, sendErr = Send(ctx, source, p, sendSide, sendOpt)
	}()
	st, recvErr := Receive(ctx, df, p, recvSide, recvOpt)
	wg.Wait()
	st.Seconds = time.Since(start).Seconds()
	if err := ctx.Err(); err != nil && (recvErr != nil || sendErr != nil) {
		return st, err
	}
	if recvErr != nil {
		// The receiver's view names the cause unless the sender saw it first.
		if sendErr != nil && rank(sendErr) > rank(recvErr) {
			return st, unwrapPeer(sendErr)
		}
		return st, unwrapPeer(recvErr)
	}
	if sendErr != nil {
		return st, sendErr
	}
	if repl != nil {
		if err := repl.Commit(); err != nil {
			st.Verified = false
			return st, err
		}
		st.Seconds = time.Since(start).Seconds()
	}
	return st, nil
}

// replaceTarget prepares dst's atomic replacement, starting from a clone or
// copy of dst.
func replaceTarget(ctx context.Context, sf *sysio.File, src, dst string, opt Options) (*sysio.Replacement, error) {
	si, err := sf.OS().Stat()
	if err != nil {
		return nil, err
	}
	if di, err := os.Stat(dst); err == nil && os.SameFile(si, di) {
		return nil, fmt.Errorf("%s and %s are the same file", src, dst)
	}
	r, err := sysio.Replace(dst, sysio.Options{Direct: opt.Direct})
	if err != nil {
		return nil, err
	}
	if err := r.Fill(ctx); err != nil {
		r.Close()
		return nil, err
	}
	return r, nil
}

// unwrapPeer keeps a local sync's errors free of "peer:": both sides are us.
func unwrapPeer(err error) error {
	var pe *PeerError
	if errors.As(err, &pe) {
		if pe.Is(ErrSourceChanged) {
			return fmt.Errorf("%w: %s", ErrSourceChanged, pe.Message)
		}
		return errors.New(pe.Message)
	}
	return err
}

// mirrorWritten copies the receiver's Written into the caller's Progress.
func mirrorWritten(to, from *Progress) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(50 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				to.Written.Store(from.Written.Load())
			case <-done:
				to.Written.Store(from.Written.Load())
				return
			}
		}
	}()
	return func() { close(done); wg.Wait() }
}

func openTarget(path string, dryRun bool, opt Options) (*sysio.File, error) {
	mode := sysio.Create
	if dryRun {
		mode = sysio.ReadOnly
	}
	f, err := sysio.Open(path, mode, sysio.Options{Direct: opt.Direct})
	if dryRun && errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	return f, err
}

func sameFile(a, b *sysio.File) (bool, error) {
	ai, err := a.OS().Stat()
	if err != nil {
		return false, err
	}
	bi, err := b.OS().Stat()
	if err != nil {
		return false, err
	}
	return os.SameFile(ai, bi), nil
}
