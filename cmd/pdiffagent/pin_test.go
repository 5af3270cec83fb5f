package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pdiffagent/pdiffagent/agent"
	"github.com/pdiffagent/pdiffagent/bench"
)

// A --pin is remembered only after a handshake verified it; a different
// --pin needs --replace-pin; a remembered pin that no longer matches is
// named with its known_hosts file.
func TestPinSavedAfterVerifiedHandshake(t *testing.T) {
	addr, pin, cdir := testListen(t, t.TempDir(), nil)
	src := filepath.Join(t.TempDir(), "src")
	if err := bench.GenerateRandom(src, 64<<10, 1); err != nil {
		t.Fatal(err)
	}
	other, err := agent.NewIdentity()
	if err != nil {
		t.Fatal(err)
	}
	wrong := other.Fingerprint()
	kh := agent.OpenKnownHosts(cdir)
	push := func(extra ...string) (int, string) {
		return execute(t, append([]string{"push", "-q", "--identity", cdir, src, addr + "/f"}, extra...)...)
	}

	if code, msg := push("--pin", wrong); code == exitOK || !strings.Contains(msg, "does not match") {
		t.Fatalf("push with a wrong pin: exit %d, %q", code, msg)
	}
	if fp, ok := kh.Lookup(addr); ok {
		t.Fatalf("a pin that failed its handshake was remembered: %s", fp)
	}
	if code, msg := push("--pin", pin); code != exitOK {
		t.Fatalf("push with the right pin: exit %d, %q", code, msg)
	}
	if fp, _ := kh.Lookup(addr); fp != pin {
		t.Fatalf("remembered %q after a verified push, want %s", fp, pin)
	}
	// A typo does not replace the good pin.
	if code, msg := push("--pin", wrong); code != exitUsage || !strings.Contains(msg, "--replace-pin") || !strings.Contains(msg, kh.Path()) {
		t.Fatalf("push with a different pin: exit %d, %q; want a usage error naming --replace-pin and %s", code, msg, kh.Path())
	}
	if fp, _ := kh.Lookup(addr); fp != pin {
		t.Fatalf("a different --pin replaced the good one: %s", fp)
	}
	// --replace-pin replaces it, once verified: not with a wrong one.
	if code, _ := push("--pin", wrong, "--replace-pin"); code == exitOK {
		t.Fatal("push with a wrong pin and --replace-pin succeeded")
	}
	if fp, _ := kh.Lookup(addr); fp != pin {
		t.Fatalf("--replace-pin saved a pin that failed: %s", fp)
	}
	// A remembered pin that no longer matches names known_hosts.
	if err := kh.Add(addr, wrong); err != nil {
		t.Fatal(err)
	}
	if code, msg := push(); code == exitOK || !strings.Contains(msg, kh.Path()) {
		t.Fatalf("push with a stale remembered pin: exit %d, %q; want the known_hosts path", code, msg)
	}
	if code, msg := push("--pin", pin, "--replace-pin"); code != exitOK {
		t.Fatalf("push --replace-pin: exit %d, %q", code, msg)
	}
	if fp, _ := kh.Lookup(addr); fp != pin {
		t.Fatalf("--replace-pin did not save the verified pin: %s", fp)
	}
}

// An identity directory others may write to is refused.
func TestIdentityDirWritableRefused(t *testing.T) {
	dir := t.TempDir()
	if _, err := agent.LoadOrCreateIdentity(dir); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	if _, err := agent.LoadOrCreateIdentity(dir); err == nil || !strings.Contains(err.Error(), "writable by group or others") {
		t.Fatalf("identity in a 0777 directory: %v", err)
	}
}
