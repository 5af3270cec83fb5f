//go:build !unix

package main

import (
	"context"
	"io"
	"os"
)

// Without unix sockets' descriptor passing, serve --stdio refuses joins
// (--ssh-connections 1 works everywhere).
type rendezvous struct{ joins chan io.ReadWriteCloser }

func openRendezvous(k int, policy string) (*rendezvous, []joinToken, error) {
	return nil, nil, errNoJoin
}

func (rv *rendezvous) close() {}

func joinSession(ctx context.Context, tok joinToken, policy string, in, out *os.File) error {
	out.Write(appendRefuse(nil, errNoJoin.Error()))
	return errNoJoin
}
