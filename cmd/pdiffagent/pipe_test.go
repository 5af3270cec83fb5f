package main

import (
	"bytes"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pdiffagent/pdiffagent/sysio/sysiotest"
)

// selfCommand runs this test binary as pdiffagent (TestMain) with args.
func selfCommand(t *testing.T, args ...string) *exec.Cmd {
	cmd := exec.Command(selfBinary(t), args...)
	cmd.Env = append(os.Environ(), asCLIEnv+"=1")
	return cmd
}

// stage is one process of a pipeline and what it said.
type stage struct {
	cmd    *exec.Cmd
	stderr bytes.Buffer
	code   int
}

// runPipeline runs `checksum DST | retrieve SRC | save DST` as three
// processes joined by OS pipes. When cut > 0 the retrieve -> save pipe
// carries only its first cut bytes, then is closed at both ends.
func runPipeline(t *testing.T, src, dst string, cut int64, flags ...string) (sum, ret, save *stage) {
	t.Helper()
	sum = &stage{cmd: selfCommand(t, append([]string{"checksum", "-b", "64K", "-c", "3"}, flags...)...)}
	sum.cmd.Args = append(sum.cmd.Args, dst)
	ret = &stage{cmd: selfCommand(t, "retrieve", "-c", "2", "--compress", "lz4", src)}
	save = &stage{cmd: selfCommand(t, "save", "-c", "2", dst)}
	sumR, sumW := mustPipe(t)
	retR, retW := mustPipe(t)
	sum.cmd.Stdout, ret.cmd.Stdin = sumW, sumR
	ret.cmd.Stdout, save.cmd.Stdin = retW, retR
	var saveIn *os.File // the cutter's end, when there is one
	if cut > 0 {
		var cutW *os.File
		saveIn, cutW = mustPipe(t)
		save.cmd.Stdin = saveIn
		go func() {
			io.CopyN(cutW, retR, cut)
			cutW.Close()
			retR.Close() // retrieve's next write fails: the pipe is cut
		}()
	}
	for _, s := range []*stage{sum, ret, save} {
		s.cmd.Stderr = &s.stderr
		if err := s.cmd.Start(); err != nil {
			t.Fatal(err)
		}
	}
	// The children hold their ends now; ours must go, or no one sees EOF.
	sumR.Close()
	sumW.Close()
	retW.Close()
	if cut == 0 {
		retR.Close()
	} else {
		saveIn.Close()
	}
	for _, s := range []*stage{sum, ret, save} {
		err := s.cmd.Wait()
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			s.code = exit.ExitCode() // -1 when killed by a signal (SIGPIPE)
		} else if err != nil {
			t.Fatal(err)
		}
	}
	return sum, ret, save
}

func mustPipe(t *testing.T) (*os.File, *os.File) {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	return r, w
}

func checkIdentical(t *testing.T, dst string, want []byte) {
	t.Helper()
	got, err := os.ReadFile(dst)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s differs from the source (%d bytes, want %d)", dst, len(got), len(want))
	}
}

func TestPipeModeProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	dir := t.TempDir()
	src, dst := filepath.Join(dir, "src"), filepath.Join(dir, "dst")
	data := sysiotest.RandomBytes(1, 4<<20+1234)
	if err := os.WriteFile(src, data, 0o644); err != nil {
		t.Fatal(err)
	}
	// The target: a third of its blocks differ, and it is shorter.
	old := append([]byte(nil), data[:3<<20]...)
	for off := 0; off < len(old); off += 3 << 16 {
		old[off] ^= 0xff
	}
	writeTarget := func() {
		if err := os.WriteFile(dst, old, 0o644); err != nil {
			t.Fatal(err)
		}
	}

	t.Run("sync", func(t *testing.T) {
		writeTarget()
		sum, ret, save := runPipeline(t, src, dst, 0)
		for name, s := range map[string]*stage{"checksum": sum, "retrieve": ret, "save": save} {
			if s.code != 0 {
				t.Errorf("%s exited %d: %s", name, s.code, s.stderr.String())
			}
		}
		checkIdentical(t, dst, data)
		os.Remove(dst) // a missing target gets every block
		if _, _, save = runPipeline(t, src, dst, 0); save.code != 0 {
			t.Fatalf("into a missing target: %s", save.stderr.String())
		}
		checkIdentical(t, dst, data)
	})

	t.Run("cut and rerun", func(t *testing.T) {
		writeTarget()
		_, _, save := runPipeline(t, src, dst, 300<<10)
		msg := save.stderr.String()
		if save.code != exitTempFail || !strings.Contains(msg, "stream truncated after") || !strings.Contains(msg, "rerun to repair") {
			t.Fatalf("save exited %d: %q; want 75 (a cut pipe is worth rerunning) and a truncated stream", save.code, msg)
		}
		if _, _, save = runPipeline(t, src, dst, 0); save.code != 0 {
			t.Fatalf("rerun: %s", save.stderr.String())
		}
		checkIdentical(t, dst, data)
	})

	t.Run("range", func(t *testing.T) {
		writeTarget()
		_, _, save := runPipeline(t, src, dst, 0, "--start", "1M", "--end", "2M")
		if save.code != 0 {
			t.Fatalf("save: %s", save.stderr.String())
		}
		want := append(append(append([]byte(nil), old[:1<<20]...), data[1<<20:2<<20]...), old[2<<20:]...)
		checkIdentical(t, dst, want)
	})

	t.Run("terminal refused", func(t *testing.T) {
		tty, err := os.OpenFile("/dev/ptmx", os.O_RDWR, 0)
		if err != nil || !isTerminal(tty) {
			t.Skip("no pseudo-terminal")
		}
		defer tty.Close()
		for _, args := range [][]string{{"checksum", dst}, {"retrieve", src}} {
			cmd := selfCommand(t, args...)
			cmd.Stdin, _ = os.Open(os.DevNull)
			cmd.Stdout = tty
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			err := cmd.Run()
			var exit *exec.ExitError
			if !errors.As(err, &exit) || exit.ExitCode() != exitUsage || !strings.Contains(stderr.String(), "refusing to write binary data to a terminal") {
				t.Errorf("%s to a terminal: %v: %s", args[0], err, stderr.String())
			}
		}
	})
}

func TestPipeModeUsageErrors(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "missing")
	for _, args := range [][]string{
		{"checksum", "-b", "64K", "--start", "1000", missing},
		{"checksum", "-b", "64K", "--end", "100K", missing},
		{"checksum", "--start", "2M", "--end", "1M", missing},
		{"checksum", "-m", "md5", missing},
		{"checksum", missing, missing},
		{"retrieve", "--compress", "zstd", missing},
		{"retrieve", "-c", "0", missing},
		{"save", "-q", "-v", missing},
		{"save"},
	} {
		if code, msg := execute(t, args...); code != exitUsage {
			t.Errorf("%v: exit %d (%s), want %d", args, code, msg, exitUsage)
		}
	}
}
