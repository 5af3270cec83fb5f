package agent

import (
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

const fingerprintPrefix = "sha256:"

// ErrNotAllowed is wrapped by the error a server gives a client whose
// fingerprint is not in its allow list.
var ErrNotAllowed = errors.New("agent: client not in allow list")

// ErrPinMismatch is wrapped by the error a client gets when the server's
// certificate does not have the pinned fingerprint.
var ErrPinMismatch = errors.New("agent: server fingerprint does not match pin")

// ErrSelf is wrapped by the error of a connection whose peer has this
// agent's own identity.
var ErrSelf = errors.New("agent: connection to self refused")

func fingerprintDER(der []byte) string {
	sum := sha256.Sum256(der)
	return fingerprintPrefix + hex.EncodeToString(sum[:])
}

// ParseFingerprint normalizes a fingerprint to "sha256:" and 64 lowercase
// hex digits. It accepts the digits with or without the "sha256:" prefix,
// in any case, and surrounding blanks; anything else is an error.
func ParseFingerprint(s string) (string, error) {
	t := strings.TrimSpace(s)
	if len(t) >= len(fingerprintPrefix) && strings.EqualFold(t[:len(fingerprintPrefix)], fingerprintPrefix) {
		t = t[len(fingerprintPrefix):]
	}
	if len(t) != 2*sha256.Size {
		return "", fmt.Errorf("fingerprint %q: want sha256: followed by 64 hex digits (as printed by `pdiffagent id`), got %d digits", s, len(t))
	}
	if _, err := hex.DecodeString(t); err != nil {
		return "", fmt.Errorf("fingerprint %q: want sha256: followed by 64 hex digits (as printed by `pdiffagent id`): not hex", s)
	}
	return fingerprintPrefix + strings.ToLower(t), nil
}

// peerFingerprint returns the fingerprint of the peer's leaf certificate.
func peerFingerprint(cs tls.ConnectionState) (string, error) {
	if len(cs.PeerCertificates) == 0 {
		return "", errors.New("agent: peer sent no certificate")
	}
	return fingerprintDER(cs.PeerCertificates[0].Raw), nil
}

// checkALPN makes sure both sides speak this protocol.
func checkALPN(cs tls.ConnectionState) error {
	if cs.NegotiatedProtocol != alpn {
		return fmt.Errorf("agent: peer does not speak %s (ALPN %q)", alpn, cs.NegotiatedProtocol)
	}
	return nil
}

// verifyServer is the client's VerifyConnection: the server's certificate
// must have the pinned fingerprint, and not be our own.
func verifyServer(self, pin string, verified func()) func(tls.ConnectionState) error {
	return func(cs tls.ConnectionState) error {
		fp, err := peerFingerprint(cs)
		if err != nil {
			return err
		}
		if fp == self {
			return fmt.Errorf("%w: server %s has this client's own identity", ErrSelf, fp)
		}
		if fp != pin {
			return fmt.Errorf("%w: server presented %s, pinned %s (wrong --pin, or the server's identity changed)", ErrPinMismatch, fp, pin)
		}
		if err := checkALPN(cs); err != nil {
			return err
		}
		if verified != nil {
			verified()
		}
		return nil
	}
}

// allowList is the set of client fingerprints a server accepts; the value
// is true for clients that may only pull.
type allowList map[string]bool

func newAllowList(rw, ro []string) (allowList, error) {
	a := make(allowList, len(rw)+len(ro))
	for _, s := range ro {
		fp, err := ParseFingerprint(s)
		if err != nil {
			return nil, fmt.Errorf("agent: read-only allow list: %w", err)
		}
		a[fp] = true
	}
	for _, s := range rw {
		fp, err := ParseFingerprint(s)
		if err != nil {
			return nil, fmt.Errorf("agent: allow list: %w", err)
		}
		a[fp] = false // read-write wins when listed in both
	}
	return a, nil
}

// verifyClient checks a client's certificate against the allow list. It
// returns the client's fingerprint, also when it refuses it (for the log).
func (a allowList) verifyClient(self string, cs tls.ConnectionState) (string, error) {
	fp, err := peerFingerprint(cs)
	if err != nil {
		return "", err
	}
	if fp == self {
		return fp, fmt.Errorf("%w: client has this server's own identity", ErrSelf)
	}
	if _, ok := a[fp]; !ok {
		return fp, ErrNotAllowed
	}
	return fp, checkALPN(cs)
}
