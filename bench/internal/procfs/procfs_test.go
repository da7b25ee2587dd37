package procfs

import (
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"
)

func TestStatFields(t *testing.T) {
	for _, tc := range []struct {
		name, line string
		ppid       int
		cpu        time.Duration
		wantErr    bool
	}{
		{"plain", "1234 (nginx) S 1200 1234 1234 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 1 0 100 1000 200",
			1200, 300 * ClockTick, false},
		{"name with spaces and parens", "77 (a (b) c) R 5 77 77 0 -1 0 0 0 0 0 7 3 0 0 20 0 1 0 1 1 1",
			5, 10 * ClockTick, false},
		{"truncated", "77 (x) R 5 77", 0, 0, true},
		{"no name", "garbage", 0, 0, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ppid, cpu, err := statFields(tc.line)
			if (err != nil) != tc.wantErr || ppid != tc.ppid || cpu != tc.cpu {
				t.Fatalf("statFields = %d, %v, %v; want %d, %v, error %v", ppid, cpu, err, tc.ppid, tc.cpu, tc.wantErr)
			}
		})
	}
}

// fakeProc builds a /proc with processes {pid: ppid} and a status file
// whose VmHWM is pid kB.
func fakeProc(t *testing.T, procs map[int]int) Proc {
	root := t.TempDir()
	for pid, ppid := range procs {
		dir := filepath.Join(root, strconv.Itoa(pid))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		stat := strconv.Itoa(pid) + " (p) S " + strconv.Itoa(ppid) + " 0 0 0 -1 0 0 0 0 0 1 1 0 0 20 0 1 0 1 1 1"
		status := "Name:\tp\nVmHWM:\t" + strconv.Itoa(pid) + " kB\nVmRSS:\t1 kB\n"
		if err := os.WriteFile(filepath.Join(dir, "stat"), []byte(stat), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "status"), []byte(status), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(root, "stat"),
		[]byte("cpu  10 1 5 100 2 0 3 4 0 0\ncpu0 5 0 2 50 1 0 1 2 0 0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return Proc{Root: root}
}

func TestTreeFollowsDescendantsOnly(t *testing.T) {
	p := fakeProc(t, map[int]int{1: 0, 10: 1, 11: 10, 12: 10, 13: 11, 20: 1})
	got := p.Tree(10)
	slices.Sort(got)
	if !slices.Equal(got, []int{10, 11, 12, 13}) {
		t.Fatalf("Tree(10) = %v, want [10 11 12 13]", got)
	}
	if got := p.Tree(99); got != nil {
		t.Fatalf("Tree of a missing pid = %v, want nil", got)
	}
}

func TestCPUAndStatusSumOverTheTree(t *testing.T) {
	p := fakeProc(t, map[int]int{10: 1, 11: 10, 12: 10})
	pids := p.Tree(10)
	if got := p.CPU(pids); got != 6*ClockTick {
		t.Fatalf("CPU = %v, want %v", got, 6*ClockTick)
	}
	m := p.Status(append(pids, 404), "VmHWM")
	if m != (Mem{SumKB: 33, LargestKB: 12, Procs: 3}) {
		t.Fatalf("Status = %+v, want sum 33, largest 12, 3 procs", m)
	}
}

func TestMachineCPU(t *testing.T) {
	p := fakeProc(t, nil)
	c, err := p.MachineCPU()
	if err != nil {
		t.Fatal(err)
	}
	if c.Busy() != 16 || c.Total() != 125 || c.Steal != 4 {
		t.Fatalf("sample %+v: busy %d total %d", c, c.Busy(), c.Total())
	}
	d := c.Sub(CPUSample{User: 10})
	if d.User != 0 || d.Idle != 100 {
		t.Fatalf("Sub = %+v", d)
	}
	if _, err := parseCPULine("cpu0 1 2 3\n"); err == nil {
		t.Fatal("no aggregate line: want an error")
	}
}

func TestRealProcIsReadable(t *testing.T) {
	p := System()
	self := os.Getpid()
	if tree := p.Tree(self); len(tree) == 0 || tree[0] != self {
		t.Fatalf("Tree(self) = %v", tree)
	}
	if m := p.Status([]int{self}, "VmHWM"); m.Procs != 1 || m.SumKB <= 0 {
		t.Fatalf("Status(self) = %+v", m)
	}
	if _, err := p.MachineCPU(); err != nil {
		t.Fatal(err)
	}
}
