package engine

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/pdiffagent/pdiffagent/sysio"
	"github.com/pdiffagent/pdiffagent/wire"
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
	op := LocalOpener{Direct: opt.Direct}
	source, err := OpenSource(op, src)
	if err != nil {
		return Stats{}, err
	}
	defer source.File.Close()
	if p, err = p.Bind(source.Size); err != nil {
		return Stats{}, err
	}
	p.Caps = wire.AgentCaps // both sides are this agent
	if err := notSameFile(source.File, src, dst); err != nil {
		return Stats{}, err
	}
	t, err := OpenTarget(ctx, op, dst, p.DryRun, atomic)
	if err != nil {
		return Stats{}, err
	}
	var st Stats
	if err = t.Create(); err == nil {
		st, err = runLocal(ctx, source, t, p, opt) // commits t
	}
	t.Close(err, st)
	st.Seconds = time.Since(start).Seconds()
	return st, err
}

// runLocal runs both sides of a local sync through in-memory streams; the
// receiver commits dst (ReceiveTarget).
func runLocal(ctx context.Context, source *Source, dst *Target, p Params, opt Options) (Stats, error) {
	if compareOK(p, opt) {
		return compareLocal(ctx, source, dst, p, opt)
	}
	sendSide, recvSide := make([]Stream, p.Workers), make([]Stream, p.Workers)
	for i := range sendSide {
		sendSide[i], recvSide[i] = Pipe()
		sendSide[i] = ThrottleStream(sendSide[i], opt.Link) // one side: each byte counted once
	}
	// Both sides update the one opt.Progress: the sender Compared and
	// Sent, the receiver Written (atomics, never the same field).
	var wg sync.WaitGroup
	var sendErr error
	wg.Add(1)
	go func() {
		defer wg.Done()
		_, sendErr = Send(ctx, source, p, sendSide, opt)
	}()
	st, recvErr := ReceiveTarget(ctx, dst, p, recvSide, opt)
	wg.Wait()
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
	return st, sendErr
}

// notSameFile refuses a target that is the source.
func notSameFile(sf *sysio.File, src, dst string) error {
	si, err := sf.OS().Stat()
	if err != nil {
		return err
	}
	if di, err := os.Stat(dst); err == nil && os.SameFile(si, di) {
		return fmt.Errorf("%s and %s are the same file", src, dst)
	}
	return nil
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
