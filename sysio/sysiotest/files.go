package sysiotest

import (
	"errors"
	"math/rand/v2"
	"os"
	"os/exec"
	"testing"
)

// RandomBytes returns n pseudo-random bytes, the same for the same seed.
func RandomBytes(seed uint64, n int) []byte {
	var key [32]byte
	for i := range 8 {
		key[i] = byte(seed >> (8 * i))
	}
	b := make([]byte, n)
	rand.NewChaCha8(key).Read(b)
	return b
}

// WriteFile writes b to path (mode 0644) or fails the test.
func WriteFile(t testing.TB, path string, b []byte) {
	t.Helper()
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// ReadFile reads path or fails the test.
func ReadFile(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// ListDir lists the names in dir that keep accepts (all when keep is nil):
// with sysio.TempName, the replacement temporaries left behind.
func ListDir(t testing.TB, dir string, keep func(name string) bool) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		if keep == nil || keep(e.Name()) {
			out = append(out, e.Name())
		}
	}
	return out
}

// Immutable makes path immutable (chattr +i) until the test ends, so that
// opening it for writing fails with EPERM even for root; false, logged,
// where chattr cannot (not Linux, a filesystem without the attribute).
func Immutable(t testing.TB, path string) bool {
	t.Helper()
	if out, err := exec.Command("chattr", "+i", path).CombinedOutput(); err != nil {
		t.Logf("chattr +i: %v: %s (no immutable file in this test)", err, out)
		return false
	}
	t.Cleanup(func() { exec.Command("chattr", "-i", path).Run() })
	return true
}

// AppendFile appends b to the file path.
func AppendFile(t testing.TB, path string, b []byte) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err == nil {
		_, err = f.Write(b)
		err = errors.Join(err, f.Close())
	}
	if err != nil {
		t.Error(err)
	}
}
