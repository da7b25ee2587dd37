// Package procfs reads the few /proc figures the benchmark needs: a
// process tree, its CPU time and its memory, and the machine's CPU counters.
package procfs

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// ClockTick is the unit of the CPU times in /proc/PID/stat and /proc/stat.
// Linux fixes USER_HZ at 100 for user space on every architecture Go
// supports, and reading sysconf(_SC_CLK_TCK) would need cgo.
const ClockTick = 10 * time.Millisecond

// Proc is the /proc root; tests point it at a fixture tree.
type Proc struct{ Root string }

// System is the real /proc.
func System() Proc { return Proc{Root: "/proc"} }

// statFields parses /proc/PID/stat. The command name is in parentheses and
// may itself hold spaces and parentheses, so the fields are counted from the
// last ')'.
func statFields(line string) (ppid int, cpu time.Duration, err error) {
	i := strings.LastIndexByte(line, ')')
	if i < 0 {
		return 0, 0, fmt.Errorf("procfs: malformed stat %q", line)
	}
	f := strings.Fields(line[i+1:])
	// f[0] is the state (field 3), so field N is f[N-3].
	if len(f) < 13 {
		return 0, 0, fmt.Errorf("procfs: short stat %q", line)
	}
	ppid, err = strconv.Atoi(f[1])
	if err != nil {
		return 0, 0, fmt.Errorf("procfs: ppid in %q: %w", line, err)
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, 0, fmt.Errorf("procfs: cpu times in %q", line)
	}
	return ppid, time.Duration(utime+stime) * ClockTick, nil
}

// Tree returns root followed by all its live descendants. A root that has
// exited gives an empty tree.
func (p Proc) Tree(root int) []int {
	ents, err := os.ReadDir(p.Root)
	if err != nil {
		return nil
	}
	kids := map[int][]int{}
	exists := false
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join(p.Root, e.Name(), "stat"))
		if err != nil {
			continue // exited while we looked
		}
		ppid, _, err := statFields(string(b))
		if err != nil {
			continue
		}
		kids[ppid] = append(kids[ppid], pid)
		if pid == root {
			exists = true
		}
	}
	if !exists {
		return nil
	}
	out := []int{root}
	for i := 0; i < len(out); i++ {
		out = append(out, kids[out[i]]...)
	}
	return out
}

// CPU is the user+system CPU time summed over pids. Processes that have
// exited count for nothing, which is why the harness samples long-lived
// trees only.
func (p Proc) CPU(pids []int) time.Duration {
	var sum time.Duration
	for _, pid := range pids {
		b, err := os.ReadFile(filepath.Join(p.Root, strconv.Itoa(pid), "stat"))
		if err != nil {
			continue
		}
		if _, cpu, err := statFields(string(b)); err == nil {
			sum += cpu
		}
	}
	return sum
}

// Mem is a memory figure of /proc/PID/status summed over processes.
type Mem struct {
	SumKB     int64 // over all processes (shared pages count once per process)
	LargestKB int64 // of the biggest single process
	Procs     int
}

// Status sums field ("VmRSS", "VmHWM", ...) of /proc/PID/status over pids.
func (p Proc) Status(pids []int, field string) Mem {
	var m Mem
	for _, pid := range pids {
		f, err := os.Open(filepath.Join(p.Root, strconv.Itoa(pid), "status"))
		if err != nil {
			continue
		}
		kb, ok := statusField(f, field)
		f.Close()
		if !ok {
			continue
		}
		m.SumKB += kb
		m.LargestKB = max(m.LargestKB, kb)
		m.Procs++
	}
	return m
}

func statusField(f *os.File, field string) (int64, bool) {
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		name, rest, ok := strings.Cut(sc.Text(), ":")
		if !ok || name != field {
			continue
		}
		v := strings.Fields(rest)
		if len(v) == 0 {
			return 0, false
		}
		kb, err := strconv.ParseInt(v[0], 10, 64)
		return kb, err == nil
	}
	return 0, false
}

// CPUSample is the machine-wide "cpu" line of /proc/stat, in ticks.
type CPUSample struct {
	User, Nice, System, Idle, IOWait, IRQ, SoftIRQ, Steal int64
}

// Total is every tick the sample counts.
func (c CPUSample) Total() int64 {
	return c.User + c.Nice + c.System + c.Idle + c.IOWait + c.IRQ + c.SoftIRQ + c.Steal
}

// Busy is the ticks spent running processes (user, nice, system).
func (c CPUSample) Busy() int64 { return c.User + c.Nice + c.System }

// Sub is the difference c - d, field by field.
func (c CPUSample) Sub(d CPUSample) CPUSample {
	return CPUSample{c.User - d.User, c.Nice - d.Nice, c.System - d.System, c.Idle - d.Idle,
		c.IOWait - d.IOWait, c.IRQ - d.IRQ, c.SoftIRQ - d.SoftIRQ, c.Steal - d.Steal}
}

// MachineCPU reads the aggregate line of /proc/stat.
func (p Proc) MachineCPU() (CPUSample, error) {
	b, err := os.ReadFile(filepath.Join(p.Root, "stat"))
	if err != nil {
		return CPUSample{}, fmt.Errorf("procfs: %w", err)
	}
	return parseCPULine(string(b))
}

func parseCPULine(text string) (CPUSample, error) {
	for _, line := range strings.Split(text, "\n") {
		f := strings.Fields(line)
		if len(f) < 9 || f[0] != "cpu" {
			continue
		}
		var v [8]int64
		for i := range v {
			n, err := strconv.ParseInt(f[i+1], 10, 64)
			if err != nil {
				return CPUSample{}, fmt.Errorf("procfs: bad cpu line %q", line)
			}
			v[i] = n
		}
		return CPUSample{v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7]}, nil
	}
	return CPUSample{}, fmt.Errorf("procfs: no aggregate cpu line in /proc/stat")
}
