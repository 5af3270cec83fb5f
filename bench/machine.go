package bench

import (
	"bufio"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
)

// Machine describes the computer a report comes from.
type Machine struct {
	CPU        string `json:"cpu"`    // model name from /proc/cpuinfo
	Cores      int    `json:"cores"`  // logical CPUs usable by Go
	Memory     int64  `json:"memory"` // bytes, MemTotal
	Kernel     string `json:"kernel"`
	Filesystem string `json:"filesystem"` // of the benchmark directory
	OS         string `json:"os"`
	Arch       string `json:"arch"`
	Go         string `json:"go"`
}

// Describe reads the machine's description; dir is where the work files go.
// Fields it cannot learn stay empty.
func Describe(dir string) Machine {
	m := Machine{Cores: runtime.NumCPU(), Kernel: kernelRelease(), Filesystem: fsType(dir),
		OS: runtime.GOOS, Arch: runtime.GOARCH, Go: runtime.Version()}
	m.CPU = procField("/proc/cpuinfo", "model name")
	if kb := procField("/proc/meminfo", "MemTotal"); kb != "" {
		n, _ := strconv.ParseInt(strings.TrimSuffix(kb, " kB"), 10, 64)
		m.Memory = n << 10
	}
	return m
}

// String is the one-line description the tables print.
func (m Machine) String() string {
	cpu := m.CPU
	if cpu == "" {
		cpu = "unknown CPU"
	}
	return fmt.Sprintf("%s, %d cores, %s RAM, %s, %s on %s, %s", cpu, m.Cores, FormatBytes(m.Memory),
		m.Kernel, orUnknown(m.Filesystem), m.Arch, m.Go)
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown filesystem"
	}
	return s
}

// procField returns the value of the first "key: value" line of a /proc
// file, or "".
func procField(path, key string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if ok && strings.TrimSpace(k) == key {
			return strings.TrimSpace(v)
		}
	}
	return ""
}
