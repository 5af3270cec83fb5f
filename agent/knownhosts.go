package agent

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
)

// KnownHosts remembers the fingerprint pinned for each server, in the file
// KnownHostsFile of an identity directory: one "host:port sha256:…" line per
// server; blank lines and lines starting with '#' are ignored. A pin given
// once on the command line is stored with Add and found again with Lookup.
type KnownHosts struct {
	path string
	mu   sync.Mutex
}

// OpenKnownHosts returns the known hosts of the identity directory dir. The
// file need not exist yet.
func OpenKnownHosts(dir string) *KnownHosts {
	return &KnownHosts{path: filepath.Join(dir, KnownHostsFile)}
}

// Path is the file's name.
func (k *KnownHosts) Path() string { return k.path }

// Lookup returns the fingerprint pinned for hostport. A missing or
// unreadable file, or a malformed entry, is reported as not found.
func (k *KnownHosts) Lookup(hostport string) (fp string, ok bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	entries, _, err := k.read()
	if err != nil {
		return "", false
	}
	fp, ok = entries[normalizeHostPort(hostport)]
	return fp, ok
}

// Add pins fp for hostport, replacing an earlier pin for the same address.
func (k *KnownHosts) Add(hostport, fp string) error {
	norm, err := ParseFingerprint(fp)
	if err != nil {
		return err
	}
	if strings.ContainsAny(hostport, " \t\r\n#") || hostport == "" {
		return fmt.Errorf("agent: known hosts: bad address %q", hostport)
	}
	key := normalizeHostPort(hostport)
	k.mu.Lock()
	defer k.mu.Unlock()
	entries, lines, err := k.read()
	if err != nil {
		return err
	}
	if entries[key] == norm {
		return nil
	}
	var buf bytes.Buffer
	for _, l := range lines {
		if f := strings.Fields(l); len(f) >= 1 && !strings.HasPrefix(f[0], "#") && normalizeHostPort(f[0]) == key {
			continue
		}
		buf.WriteString(l)
		buf.WriteByte('\n')
	}
	fmt.Fprintf(&buf, "%s %s\n", key, norm)
	if err := os.MkdirAll(filepath.Dir(k.path), identityDirMode); err != nil {
		return fmt.Errorf("agent: known hosts: %w", err)
	}
	return writeFileAtomic(k.path, buf.Bytes(), 0o644)
}

// read parses the file: valid entries, and every line as it was.
func (k *KnownHosts) read() (map[string]string, []string, error) {
	entries := map[string]string{}
	b, err := os.ReadFile(k.path)
	if errors.Is(err, fs.ErrNotExist) {
		return entries, nil, nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("agent: known hosts: %w", err)
	}
	var lines []string
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		l := sc.Text()
		lines = append(lines, l)
		f := strings.Fields(l)
		if len(f) != 2 || strings.HasPrefix(f[0], "#") {
			continue
		}
		if fp, err := ParseFingerprint(f[1]); err == nil {
			entries[normalizeHostPort(f[0])] = fp
		}
	}
	return entries, lines, sc.Err()
}

// normalizeHostPort lowercases the host name so that lookups are not
// case-sensitive.
func normalizeHostPort(hostport string) string { return strings.ToLower(hostport) }
