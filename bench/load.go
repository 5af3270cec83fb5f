package bench

import (
	"os"
	"strconv"
	"strings"
	"time"
)

// Load is how busy the machine was with work other than this benchmark
// while it ran: the run shares its cores with whatever else runs, and a
// reader must be able to tell a disturbed run.
type Load struct {
	// OtherCores is the average number of cores busy with other processes:
	// user and system CPU time of the machine (/proc/stat) less this
	// process's and its reaped children's (getrusage), over the wall time.
	// Kernel threads working for the benchmark (page-cache write-back)
	// count as other, so a quiet machine shows a few hundredths.
	OtherCores float64 `json:"other_cores"`
	// StealCores is the average number of cores the hypervisor gave to
	// other guests.
	StealCores float64 `json:"steal_cores"`
}

// loadMark is a snapshot for measuring Load.
type loadMark struct {
	at          time.Time
	busy, steal float64 // seconds, all CPUs
	ours        float64 // seconds, self and children
	ok          bool
}

// ticksPerSecond is USER_HZ, 100 on every Linux architecture Go supports.
const ticksPerSecond = 100

func markLoad() loadMark {
	m := loadMark{at: time.Now(), ours: ownCPUSeconds()}
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return m
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 9 || f[0] != "cpu" {
		return m
	}
	var v [8]float64
	for i := range v {
		n, _ := strconv.ParseFloat(f[i+1], 64)
		v[i] = n / ticksPerSecond
	}
	// user nice system idle iowait irq softirq steal. Interrupts are left
	// out: loopback networking runs in softirq on behalf of whichever
	// process, and that is mostly this benchmark's own traffic.
	m.busy = v[0] + v[1] + v[2]
	m.steal, m.ok = v[7], true
	return m
}

// since is the load between an earlier mark and m.
func (m loadMark) since(from loadMark) Load {
	wall := m.at.Sub(from.at).Seconds()
	if !m.ok || !from.ok || wall <= 0 {
		return Load{}
	}
	other := (m.busy - from.busy) - (m.ours - from.ours)
	return Load{OtherCores: max(0, other/wall), StealCores: (m.steal - from.steal) / wall}
}
