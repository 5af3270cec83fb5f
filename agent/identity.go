package agent

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"os"
	"path/filepath"
	"time"
)

// Files of an identity directory.
const (
	KeyFile        = "key.pem"  // PKCS #8 Ed25519 private key, mode 0600
	CertFile       = "cert.pem" // self-signed certificate, mode 0644
	KnownHostsFile = "known_hosts"

	identityDirMode = 0o700
	keyFileMode     = 0o600
	certFileMode    = 0o644
)

// Identity is an agent's key and self-signed certificate. Its fingerprint,
// the sha256 of the certificate, is what peers pin and allow.
type Identity struct {
	cert tls.Certificate
	fp   string
}

// NewIdentity makes an identity in memory (tests, one-off tools).
func NewIdentity() (*Identity, error) {
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("agent: generate key: %w", err)
	}
	return identityFromKey(key)
}

// DefaultIdentityDir is $PDIFFAGENT_HOME, or ~/.config/pdiffagent.
func DefaultIdentityDir() string {
	if d := os.Getenv("PDIFFAGENT_HOME"); d != "" {
		return d
	}
	if h, err := os.UserHomeDir(); err == nil {
		return filepath.Join(h, ".config", "pdiffagent")
	}
	return ".pdiffagent"
}

// LoadOrCreateIdentity loads the identity kept in dir, creating it on first
// use: dir (mode 0700), KeyFile (0600) and CertFile (0644). A key file that
// others may read is refused, as ssh does.
//
// The certificate is a pure function of the key (Ed25519 signatures are
// deterministic and the template is fixed), so two processes creating an
// identity at once still agree on its fingerprint, and a lost certificate
// is recreated identical.
func LoadOrCreateIdentity(dir string) (*Identity, error) {
	if err := os.MkdirAll(dir, identityDirMode); err != nil {
		return nil, fmt.Errorf("agent: identity directory: %w", err)
	}
	if fi, err := os.Stat(dir); err != nil {
		return nil, fmt.Errorf("agent: identity directory: %w", err)
	} else if perm := fi.Mode().Perm(); perm&0o022 != 0 {
		// Whoever may write there may replace the key or known_hosts.
		return nil, fmt.Errorf("agent: identity directory %s is writable by group or others (mode %#o): chmod 700 it", dir, perm)
	}
	key, err := loadOrCreateKey(filepath.Join(dir, KeyFile))
	if err != nil {
		return nil, err
	}
	id, err := identityFromKey(key)
	if err != nil {
		return nil, err
	}
	certPath := filepath.Join(dir, CertFile)
	if b, err := os.ReadFile(certPath); err == nil {
		if blk, _ := pem.Decode(b); blk != nil && blk.Type == "CERTIFICATE" &&
			string(blk.Bytes) == string(id.cert.Certificate[0]) {
			return id, nil
		}
		return nil, fmt.Errorf("agent: %s does not belong to %s: remove it to recreate it", certPath, KeyFile)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("agent: %w", err)
	}
	pemCert := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: id.cert.Certificate[0]})
	if err := writeFileAtomic(certPath, pemCert, certFileMode); err != nil {
		return nil, err
	}
	return id, nil
}

func loadOrCreateKey(path string) (ed25519.PrivateKey, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, keyFileMode)
	if errors.Is(err, fs.ErrExist) {
		return loadKey(path)
	}
	if err != nil {
		return nil, fmt.Errorf("agent: create key: %w", err)
	}
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("agent: generate key: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err == nil {
		_, err = f.Write(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
		return nil, fmt.Errorf("agent: write key: %w", err)
	}
	return key, nil
}

func loadKey(path string) (ed25519.PrivateKey, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("agent: %w", err)
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		return nil, fmt.Errorf("agent: key file %s is accessible by others (mode %#o): chmod 600 it", path, perm)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("agent: %w", err)
	}
	blk, _ := pem.Decode(b)
	if blk == nil || blk.Type != "PRIVATE KEY" {
		return nil, fmt.Errorf("agent: %s: no PEM \"PRIVATE KEY\" block (still being written by another process?)", path)
	}
	k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		return nil, fmt.Errorf("agent: %s: %w", path, err)
	}
	key, ok := k.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("agent: %s: not an Ed25519 key (%T)", path, k)
	}
	return key, nil
}

// identityFromKey builds the self-signed certificate of key. Everything in
// the template is fixed or derived from the public key.
func identityFromKey(key ed25519.PrivateKey) (*Identity, error) {
	pub := key.Public().(ed25519.PublicKey)
	h := sha256.Sum256(pub)
	serial := new(big.Int).SetBytes(h[:16])
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "pdiffagent " + hex.EncodeToString(h[:8])},
		NotBefore:             time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC),
		NotAfter:              time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC), // RFC 5280: no expiry
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, pub, key)
	if err != nil {
		return nil, fmt.Errorf("agent: create certificate: %w", err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("agent: parse certificate: %w", err)
	}
	return &Identity{
		cert: tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf},
		fp:   fingerprintDER(der),
	}, nil
}

// Fingerprint is "sha256:" and the 64 lowercase hex digits of the sha256 of
// the certificate (DER).
func (id *Identity) Fingerprint() string { return id.fp }

// Certificate returns the TLS certificate (with its private key).
func (id *Identity) Certificate() tls.Certificate { return id.cert }

// writeFileAtomic writes b to path through a temporary file and a rename.
func writeFileAtomic(path string, b []byte, mode os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("agent: %w", err)
	}
	_, err = tmp.Write(b)
	if err == nil {
		err = tmp.Chmod(mode)
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("agent: write %s: %w", path, err)
	}
	return nil
}
