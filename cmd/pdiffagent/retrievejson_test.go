package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pdiffagent/pdiffagent/sysio/sysiotest"
)

// retrieve --json reports a successful run as verified (its part: every
// block confirmed or sent), not verified:false.
func TestRetrieveJSONVerified(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	dir := t.TempDir()
	src, dst := filepath.Join(dir, "src"), filepath.Join(dir, "dst")
	data := sysiotest.RandomBytes(2, 1<<20+77)
	if err := os.WriteFile(src, data, 0o644); err != nil {
		t.Fatal(err)
	}
	sum := &stage{cmd: selfCommand(t, "checksum", "-b", "64K", dst)}
	ret := &stage{cmd: selfCommand(t, "retrieve", "--json", src)}
	save := &stage{cmd: selfCommand(t, "save", dst)}
	sumR, sumW := mustPipe(t)
	retR, retW := mustPipe(t)
	sum.cmd.Stdout, ret.cmd.Stdin = sumW, sumR
	ret.cmd.Stdout, save.cmd.Stdin = retW, retR
	for _, s := range []*stage{sum, ret, save} {
		s.cmd.Stderr = &s.stderr
		if err := s.cmd.Start(); err != nil {
			t.Fatal(err)
		}
	}
	sumR.Close()
	sumW.Close()
	retR.Close()
	retW.Close()
	for name, s := range map[string]*stage{"checksum": sum, "retrieve": ret, "save": save} {
		if err := s.cmd.Wait(); err != nil {
			t.Fatalf("%s: %v: %s", name, err, s.stderr.String())
		}
	}
	checkIdentical(t, dst, data)
	line := strings.TrimSpace(ret.stderr.String())
	var o struct {
		Verified  bool `json:"verified"`
		Identical bool `json:"identical"`
	}
	if err := json.Unmarshal([]byte(line[strings.LastIndexByte(line, '\n')+1:]), &o); err != nil {
		t.Fatalf("retrieve --json printed %q: %v", line, err)
	}
	if !o.Verified || !o.Identical {
		t.Fatalf("retrieve --json after a successful run: %s", line)
	}
}
