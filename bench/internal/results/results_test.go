package results

import (
	"bytes"
	"math"
	"strings"
	"testing"
	"time"

	"wisp/bench/internal/wrkparse"
)

func run(target, path string, round int, rps float64, noise float64) Run {
	return Run{Round: round, Path: path, Target: target, OutsidePct: noise,
		Wrk:      wrkparse.Result{Requests: int64(rps * 10), RPS: rps, P50: time.Millisecond, P99: 3 * time.Millisecond},
		ProxyCPU: time.Duration(rps*10) * 12 * time.Microsecond, NewUpstream: 32}
}

func TestSummarize(t *testing.T) {
	failed := run("a", "/small", 4, 999999, 0)
	failed.Wrk.ReadErrors = 5
	empty := run("a", "/small", 5, 0, 0) // wrk ran, nothing completed
	warm := run("a", "/small", 0, 1, 0)
	warm.Warmup = true
	for _, tc := range []struct {
		name      string
		runs      []Run
		wantRPS   float64
		wantUsed  int
		wantTaken int
		wantNoisy bool
		wantErrs  int64
	}{
		{"median of clean runs", []Run{run("a", "/small", 1, 100, 0), run("a", "/small", 2, 300, 0), run("a", "/small", 3, 200, 0)},
			200, 3, 3, false, 0},
		{"a disturbed run is left out when two clean ones remain",
			[]Run{run("a", "/small", 1, 100, 0), run("a", "/small", 2, 10, 50), run("a", "/small", 3, 200, 0)},
			150, 2, 3, false, 0},
		{"too few clean runs: all are used and flagged",
			[]Run{run("a", "/small", 1, 100, 0), run("a", "/small", 2, 10, 50), run("a", "/small", 3, 40, 30)},
			40, 3, 3, true, 0},
		{"runs with errors never count, but their errors do",
			[]Run{run("a", "/small", 1, 100, 0), run("a", "/small", 2, 200, 0), failed},
			150, 2, 3, false, 5},
		{"a run that completed no request never counts",
			[]Run{run("a", "/small", 1, 100, 0), run("a", "/small", 2, 200, 0), empty},
			150, 2, 3, false, 0},
		{"warm-up runs are not measurements", []Run{warm, run("a", "/small", 1, 100, 0)}, 100, 1, 1, false, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, ok := Summarize(tc.runs, 10)[Key{"a", "/small"}]
			if !ok {
				t.Fatal("no cell")
			}
			if c.RPS != tc.wantRPS || c.Used != tc.wantUsed || c.Taken != tc.wantTaken || c.TooNoisy != tc.wantNoisy || c.Errors != tc.wantErrs {
				t.Fatalf("cell = rps %v used %d/%d noisy %v errors %d; want rps %v used %d/%d noisy %v errors %d",
					c.RPS, c.Used, c.Taken, c.TooNoisy, c.Errors, tc.wantRPS, tc.wantUsed, tc.wantTaken, tc.wantNoisy, tc.wantErrs)
			}
		})
	}
}

func TestSummarizeDerivedColumns(t *testing.T) {
	c := Summarize([]Run{run("a", "/page", 1, 100, 2), run("a", "/page", 2, 120, 4)}, 10)[Key{"a", "/page"}]
	if math.Abs(c.CPUusPerReq-12) > 1e-9 || c.P50ms != 1 || c.P99ms != 3 || c.NewUpstream != 32 || c.Noise != 3 {
		t.Fatalf("cell = %+v; want 12 us/req, p50 1 ms, p99 3 ms, 32 new conns, noise 3%%", c)
	}
	if math.Abs(c.Spread-100*20.0/110) > 1e-9 {
		t.Fatalf("spread = %v, want %v", c.Spread, 100*20.0/110)
	}
	if c.ByRound[1] != 100 || c.ByRound[2] != 120 {
		t.Fatalf("by round = %v", c.ByRound)
	}
}

func TestNeedMoreListsCellsShortOfCleanRuns(t *testing.T) {
	runs := []Run{
		run("a", "/small", 1, 100, 0), run("a", "/small", 2, 100, 0),
		run("b", "/small", 1, 100, 0), run("b", "/small", 2, 100, 40),
	}
	got := NeedMore(runs, 10, 2)
	if len(got) != 1 || !got[Key{"b", "/small"}] {
		t.Fatalf("NeedMore = %v, want only b /small", got)
	}
}

func TestReportWritesTheTables(t *testing.T) {
	runs := []Run{}
	for r := 1; r <= 2; r++ {
		runs = append(runs, run("nginx-ka", "/small", r, 1000, 0), run("nginx-tcp-ka", "/small", r, 800, 0),
			run("wisp", "/small", r, 1500, 0), run("direct", "/small", r, 3000, 0))
	}
	rep := Report{Baseline: "nginx-ka", Targets: []string{"direct", "wisp", "nginx-ka", "nginx-tcp-ka"},
		Paths: []string{"/small"}, NoisePct: 10, IdleConns: 2000, Runs: runs,
		Proxyless: map[string]bool{"direct": true},
		Memory: map[string]*Memory{
			"nginx-ka":   {PeakKB: 26 * 1024, LargestKB: 10 * 1024, Procs: 3, Idle: []IdleRep{{BeforeKB: 1000, AfterKB: 2400, Open: 2000, Asked: 2000, AliveAtEnd: 2000}}},
			"go-backend": {Idle: []IdleRep{{BeforeKB: 1000, AfterKB: 41000, Open: 2000, Asked: 2000, AliveAtEnd: 1999}}},
		}}
	var buf bytes.Buffer
	rep.Write(&buf)
	// Compare with runs of spaces collapsed: the column widths depend on
	// the longest cell, the order and contents of the columns do not.
	squash := func(s string) string { return strings.Join(strings.Fields(s), " ") }
	var lines []string
	for _, l := range strings.Split(buf.String(), "\n") {
		lines = append(lines, squash(l))
	}
	out := strings.Join(lines, "\n")
	for _, want := range []string{
		"== Throughput and latency",
		// target, path, req/s, ratio, paired, p50, p99, CPU, new conns, peak RSS, n
		"wisp      /small  1,500       1.50    1.50    1.00    3.00              12.0                  32             -  2/2",
		"nginx-ka  /small  1,000       1.00    1.00    1.00    3.00              12.0                  32          26.0  2/2",
		// the proxyless target has no proxy CPU or upstream connections
		"direct    /small  3,000       3.00    3.00    1.00    3.00                 -                   -             -  2/2",
		"nginx: UDS vs TCP upstream, keepalive 32  /small  nginx-ka / nginx-tcp-ka        1.250   1.250",
		"== Memory ==",
		"nginx-ka            26.0      3              10.0                  1.0             2.3       0.7   2000/2000          2000     1",
		"go-backend             -      -                 -                  1.0            40.0      20.0   2000/2000          1999     1",
	} {
		if want = squash(want); !strings.Contains(out, want) {
			t.Errorf("report lacks %q;\n%s", want, out)
		}
	}
	if strings.Contains(out, "wisp: UDS vs TCP") {
		t.Error("comparison printed for wisp-tcp, which was not measured")
	}
}

func TestReportWithoutRunsPrintsOnlyMemory(t *testing.T) {
	var buf bytes.Buffer
	Report{Baseline: "nginx-ka", Memory: map[string]*Memory{"x": {Idle: []IdleRep{{Open: 1, Asked: 1}}}}}.Write(&buf)
	if strings.Contains(buf.String(), "Throughput") || !strings.Contains(buf.String(), "== Memory ==") {
		t.Fatalf("report:\n%s", buf.String())
	}
}

func TestThousands(t *testing.T) {
	for in, want := range map[float64]string{0: "0", 999: "999", 1000: "1,000", 58497.4: "58,497", 1234567: "1,234,567", math.NaN(): "-"} {
		if got := thousands(in); got != want {
			t.Errorf("thousands(%v) = %q, want %q", in, got, want)
		}
	}
}

func TestRunTSVHasAColumnPerHeader(t *testing.T) {
	line := run("a", "/small", 1, 100, 0).TSV()
	if got, want := strings.Count(line, "\t"), strings.Count(TSVHeader, "\t"); got != want {
		t.Fatalf("TSV has %d tabs, header %d: %q", got, want, line)
	}
}
