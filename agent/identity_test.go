package agent

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

func TestLoadOrCreateIdentity(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "home", "pdiffagent")
	id, err := LoadOrCreateIdentity(dir)
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]os.FileMode{"": 0o700, KeyFile: 0o600, CertFile: 0o644} {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if got := fi.Mode().Perm(); got != want {
			t.Errorf("%q: mode %#o, want %#o", name, got, want)
		}
	}
	again, err := LoadOrCreateIdentity(dir)
	if err != nil {
		t.Fatal(err)
	}
	if again.Fingerprint() != id.Fingerprint() {
		t.Errorf("reloaded fingerprint %s, created %s", again.Fingerprint(), id.Fingerprint())
	}
	if !regexp.MustCompile(`^sha256:[0-9a-f]{64}$`).MatchString(id.Fingerprint()) {
		t.Errorf("fingerprint %q", id.Fingerprint())
	}

	// A lost certificate is recreated identical: it is a function of the key.
	if err := os.Remove(filepath.Join(dir, CertFile)); err != nil {
		t.Fatal(err)
	}
	if re, err := LoadOrCreateIdentity(dir); err != nil || re.Fingerprint() != id.Fingerprint() {
		t.Errorf("after losing the certificate: %v, %v", re, err)
	}

	// A key others can read is refused.
	if err := os.Chmod(filepath.Join(dir, KeyFile), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadOrCreateIdentity(dir); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Errorf("world-readable key: err = %v", err)
	}
}

func TestNewIdentity(t *testing.T) {
	a, err := NewIdentity()
	if err != nil {
		t.Fatal(err)
	}
	b, err := NewIdentity()
	if err != nil {
		t.Fatal(err)
	}
	if a.Fingerprint() == b.Fingerprint() {
		t.Error("two identities share a fingerprint")
	}
	if got := fingerprintDER(a.Certificate().Certificate[0]); got != a.Fingerprint() {
		t.Errorf("Fingerprint %s, sha256 of the certificate %s", a.Fingerprint(), got)
	}
}

func TestDefaultIdentityDir(t *testing.T) {
	t.Setenv("PDIFFAGENT_HOME", "/srv/pdiff")
	if got := DefaultIdentityDir(); got != "/srv/pdiff" {
		t.Errorf("with PDIFFAGENT_HOME: %q", got)
	}
	t.Setenv("PDIFFAGENT_HOME", "")
	t.Setenv("HOME", "/home/u")
	if got := DefaultIdentityDir(); got != "/home/u/.config/pdiffagent" {
		t.Errorf("without: %q", got)
	}
}

func TestParseFingerprint(t *testing.T) {
	hex := strings.Repeat("0123456789abcdef", 4)
	want := "sha256:" + hex
	for _, in := range []string{want, hex, strings.ToUpper(hex), "SHA256:" + strings.ToUpper(hex), "  " + want + "\n"} {
		got, err := ParseFingerprint(in)
		if err != nil || got != want {
			t.Errorf("ParseFingerprint(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"", "sha256:", hex[:63], hex + "0", "sha1:" + hex, "sha256:" + hex[:62] + "zz",
		"sha256:" + hex[:32] + ":" + hex[32:63], "md5:" + hex} {
		if got, err := ParseFingerprint(in); err == nil {
			t.Errorf("ParseFingerprint(%q) = %q, want an error", in, got)
		} else if !strings.Contains(err.Error(), "64 hex digits") {
			t.Errorf("ParseFingerprint(%q): unclear error %v", in, err)
		}
	}
}
