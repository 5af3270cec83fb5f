package main

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
)

// The join preamble: what a client says to `serve --stdio` before the
// multiplexer starts, when one session is to run over several ssh
// sessions (--ssh-connections N). Without it the pipe starts with yamux,
// whose first byte is 0, never joinMagic's.
//
//	offer  client -> first:   magic 'O' k                  (k = N-1 joins, 1..maxJoins)
//	tokens first -> client:   magic 'T' k token×k          (one single-use token per join)
//	join   client -> joiner:  magic 'J' token
//	ok     first -> client:   magic 'K'                    (then yamux, on either pipe)
//	refuse any -> client:     magic 'E' len(2, BE) message (len ≤ maxJoinMessage)
//
// A token is the rendezvous id (the name of the first process's socket)
// and a secret only the client that got it over the first pipe knows.
// Tokens travel inside the pipes, never in an argv (which any local user
// can read in /proc), so a forced command in authorized_keys, which
// ignores the client's argv, serves joins too.
const (
	joinMagic      = "PDJ1"
	joinIDSize     = 16
	joinSecretSize = 16
	joinTokenSize  = joinIDSize + joinSecretSize
	maxJoins       = 63
	maxJoinMessage = 1024

	joinOffer  = 'O'
	joinTokens = 'T'
	joinJoin   = 'J'
	joinOK     = 'K'
	joinRefuse = 'E'
)

// joinToken admits one pipe into a session: the rendezvous id, then the
// secret.
type joinToken [joinTokenSize]byte

func (t joinToken) id() []byte     { return t[:joinIDSize] }
func (t joinToken) secret() []byte { return t[joinIDSize:] }

// joinRequest is a parsed offer or join; op 0 means the pipe has no
// preamble and starts with the bytes in rest.
type joinRequest struct {
	op    byte
	joins int       // offer
	token joinToken // join
	rest  []byte    // no preamble: what was read of the multiplexer's first frame
}

// joinRefusedError is a refusal the far side sent: a refused code.
type joinRefusedError struct{ msg string }

func (e *joinRefusedError) Error() string { return "join refused: " + e.msg }
func (e *joinRefusedError) Unwrap() error { return fs.ErrPermission }

// readJoinRequest reads the preamble a pipe may start with, reading no
// byte past it (the rest belongs to the multiplexer or to another process).
func readJoinRequest(r io.Reader) (joinRequest, error) {
	head := make([]byte, len(joinMagic)+1)
	if n, err := io.ReadFull(r, head[:len(joinMagic)]); err != nil {
		if n > 0 {
			return joinRequest{rest: head[:n]}, nil
		}
		return joinRequest{}, err
	}
	if string(head[:len(joinMagic)]) != joinMagic {
		return joinRequest{rest: head[:len(joinMagic)]}, nil
	}
	if _, err := io.ReadFull(r, head[len(joinMagic):]); err != nil {
		return joinRequest{}, fmt.Errorf("join preamble: %w", io.ErrUnexpectedEOF)
	}
	req := joinRequest{op: head[len(joinMagic)]}
	switch req.op {
	case joinOffer:
		var k [1]byte
		if _, err := io.ReadFull(r, k[:]); err != nil {
			return joinRequest{}, fmt.Errorf("join offer: %w", io.ErrUnexpectedEOF)
		}
		if req.joins = int(k[0]); req.joins < 1 || req.joins > maxJoins {
			return joinRequest{}, fmt.Errorf("join offer: %d joins, want 1 to %d", req.joins, maxJoins)
		}
	case joinJoin:
		if _, err := io.ReadFull(r, req.token[:]); err != nil {
			return joinRequest{}, fmt.Errorf("join: %w", io.ErrUnexpectedEOF)
		}
	default:
		return joinRequest{}, fmt.Errorf("join preamble: unknown request %q", req.op)
	}
	return req, nil
}

// readJoinReply reads the far side's answer to an offer of k joins (its
// tokens) or to a join (k = 0: none).
func readJoinReply(r io.Reader, k int) ([]joinToken, error) {
	head := make([]byte, len(joinMagic)+1)
	if _, err := io.ReadFull(r, head); err != nil {
		return nil, fmt.Errorf("no answer to the join preamble (is the far side's pdiffagent older than --ssh-connections?): %w", err)
	}
	if string(head[:len(joinMagic)]) != joinMagic {
		return nil, fmt.Errorf("join preamble: the far side answered %q (is its pdiffagent older than --ssh-connections?)", head)
	}
	switch op := head[len(joinMagic)]; {
	case op == joinRefuse:
		var n [2]byte
		if _, err := io.ReadFull(r, n[:]); err != nil {
			return nil, fmt.Errorf("join refusal: %w", io.ErrUnexpectedEOF)
		}
		size := int(binary.BigEndian.Uint16(n[:]))
		if size > maxJoinMessage {
			return nil, fmt.Errorf("join refusal: %d bytes, at most %d", size, maxJoinMessage)
		}
		msg := make([]byte, size)
		if _, err := io.ReadFull(r, msg); err != nil {
			return nil, fmt.Errorf("join refusal: %w", io.ErrUnexpectedEOF)
		}
		return nil, &joinRefusedError{string(msg)}
	case op == joinOK && k == 0:
		return nil, nil
	case op == joinTokens && k > 0:
		var n [1]byte
		if _, err := io.ReadFull(r, n[:]); err != nil {
			return nil, fmt.Errorf("join tokens: %w", io.ErrUnexpectedEOF)
		}
		if int(n[0]) != k {
			return nil, fmt.Errorf("join tokens: %d, asked for %d", n[0], k)
		}
		toks := make([]joinToken, k)
		for i := range toks {
			if _, err := io.ReadFull(r, toks[i][:]); err != nil {
				return nil, fmt.Errorf("join tokens: %w", io.ErrUnexpectedEOF)
			}
		}
		return toks, nil
	default:
		return nil, fmt.Errorf("join preamble: unexpected answer %q", op)
	}
}

// appendOffer, appendJoin, appendTokens, appendOK and appendRefuse encode
// the preamble's messages.
func appendOffer(b []byte, k int) []byte { return append(append(b, joinMagic...), joinOffer, byte(k)) }

func appendJoin(b []byte, t joinToken) []byte {
	return append(append(append(b, joinMagic...), joinJoin), t[:]...)
}

func appendTokens(b []byte, toks []joinToken) []byte {
	b = append(append(b, joinMagic...), joinTokens, byte(len(toks)))
	for _, t := range toks {
		b = append(b, t[:]...)
	}
	return b
}

func appendOK(b []byte) []byte { return append(append(b, joinMagic...), joinOK) }

func appendRefuse(b []byte, msg string) []byte {
	if len(msg) > maxJoinMessage {
		msg = msg[:maxJoinMessage]
	}
	b = append(append(b, joinMagic...), joinRefuse)
	return append(binary.BigEndian.AppendUint16(b, uint16(len(msg))), msg...)
}

// prefixed is a pipe whose first bytes were read already (to look for a
// preamble).
type prefixed struct {
	io.ReadWriteCloser
	r io.Reader
}

func withPrefix(rest []byte, rw io.ReadWriteCloser) io.ReadWriteCloser {
	if len(rest) == 0 {
		return rw
	}
	return prefixed{rw, io.MultiReader(bytes.NewReader(rest), rw)}
}

func (p prefixed) Read(b []byte) (int, error) { return p.r.Read(b) }

var errNoJoin = errors.New("fd passing is not supported on this platform")
