// Package results turns measured runs into the benchmark's tables.
package results

import (
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"

	"wisp/bench/internal/stats"
	"wisp/bench/internal/wrkparse"
)

// Run is one wrk run of one target on one path.
type Run struct {
	Warmup bool
	Round  int
	Path   string
	Target string
	Wrk    wrkparse.Result
	// CPU time over the run: the target's process tree, the backend, wrk.
	ProxyCPU, BackendCPU, WrkCPU time.Duration
	// OutsidePct is the share of both cores that processes other than
	// ours used during the run; StealPct the hypervisor's.
	OutsidePct, StealPct float64
	// NewUpstream is the number of connections the backend accepted.
	NewUpstream int64
}

// Noise is the share of the machine that was not ours during the run.
func (r Run) Noise() float64 { return r.OutsidePct + r.StealPct }

// Failed says whether wrk saw errors or completed nothing; such a run is
// not a measurement of the proxy's speed.
func (r Run) Failed() bool {
	return r.Wrk.Requests == 0 || r.Wrk.SocketErrors() > 0 || r.Wrk.Non2xx > 0
}

// TSVHeader and TSV are the raw runs file, one run a line.
const TSVHeader = "phase\tround\tpath\ttarget\trps\tp50_ms\tp99_ms\trequests\tsock_err\tnon2xx\tproxy_cpu_s\tbackend_cpu_s\twrk_cpu_s\toutside_pct\tsteal_pct\tnew_upstream"

// TSV formats the run as a line of the raw runs file.
func (r Run) TSV() string {
	phase := "meas"
	if r.Warmup {
		phase = "warm"
	}
	return strings.Join([]string{phase, strconv.Itoa(r.Round), r.Path, r.Target,
		f1(r.Wrk.RPS), ms(r.Wrk.P50), ms(r.Wrk.P99), strconv.FormatInt(r.Wrk.Requests, 10),
		strconv.FormatInt(r.Wrk.SocketErrors(), 10), strconv.FormatInt(r.Wrk.Non2xx, 10),
		secs(r.ProxyCPU), secs(r.BackendCPU), secs(r.WrkCPU), f1(r.OutsidePct), f1(r.StealPct),
		strconv.FormatInt(r.NewUpstream, 10)}, "\t")
}

func f1(x float64) string          { return strconv.FormatFloat(x, 'f', 1, 64) }
func ms(d time.Duration) string    { return strconv.FormatFloat(float64(d)/1e6, 'f', 3, 64) }
func secs(d time.Duration) string  { return strconv.FormatFloat(d.Seconds(), 'f', 2, 64) }
func msOf(d time.Duration) float64 { return float64(d) / 1e6 }
func usPer(d time.Duration, n int64) float64 {
	if n == 0 {
		return math.NaN()
	}
	return float64(d) / 1e3 / float64(n)
}

// Key names a cell of the table.
type Key struct{ Target, Path string }

// Cell is the summary of one target on one path.
type Cell struct {
	RPS, P50ms, P99ms float64
	CPUusPerReq       float64
	NewUpstream       float64
	Used, Taken       int
	// TooNoisy: fewer than two clean runs, so all runs were used.
	TooNoisy bool
	Spread   float64 // (max-min)/median of the req/s used, percent
	Noise    float64 // median outside share of the runs used, percent
	Errors   int64   // socket errors and non-2xx over all runs
	ByRound  map[int]float64
}

// Summarize groups the measured runs into cells. A run with more than
// noisePct of outside load (the machine was busy with others' work) is left
// out when the cell has at least two clean runs; runs with errors are left
// out when any run without errors exists.
func Summarize(runs []Run, noisePct float64) map[Key]Cell {
	group := map[Key][]Run{}
	for _, r := range runs {
		if !r.Warmup {
			k := Key{r.Target, r.Path}
			group[k] = append(group[k], r)
		}
	}
	out := map[Key]Cell{}
	for k, rs := range group {
		var ok, clean []Run
		var errs int64
		for _, r := range rs {
			errs += r.Wrk.SocketErrors() + r.Wrk.Non2xx
			if !r.Failed() {
				ok = append(ok, r)
				if r.Noise() <= noisePct {
					clean = append(clean, r)
				}
			}
		}
		used, noisy := clean, false
		if len(clean) < min(2, len(rs)) {
			used, noisy = ok, true
			if len(ok) == 0 {
				used = rs
			}
		}
		c := Cell{Used: len(used), Taken: len(rs), TooNoisy: noisy, Errors: errs, ByRound: map[int]float64{}}
		var rps, p50, p99, cpu, up, noise []float64
		for _, r := range used {
			rps = append(rps, r.Wrk.RPS)
			p50 = append(p50, msOf(r.Wrk.P50))
			p99 = append(p99, msOf(r.Wrk.P99))
			cpu = append(cpu, usPer(r.ProxyCPU, r.Wrk.Requests))
			up = append(up, float64(r.NewUpstream))
			noise = append(noise, r.Noise())
			c.ByRound[r.Round] = r.Wrk.RPS
		}
		c.RPS, c.P50ms, c.P99ms = stats.Median(rps), stats.Median(p50), stats.Median(p99)
		c.CPUusPerReq, c.NewUpstream = stats.Median(cpu), stats.Median(up)
		c.Spread, c.Noise = stats.SpreadPct(rps), stats.Median(noise)
		out[k] = c
	}
	return out
}

// NeedMore lists the cells that have fewer than want clean runs, for the
// extra rounds that replace disturbed samples.
func NeedMore(runs []Run, noisePct float64, want int) map[Key]bool {
	clean := map[Key]int{}
	seen := map[Key]bool{}
	for _, r := range runs {
		if r.Warmup {
			continue
		}
		k := Key{r.Target, r.Path}
		seen[k] = true
		if !r.Failed() && r.Noise() <= noisePct {
			clean[k]++
		}
	}
	out := map[Key]bool{}
	for k := range seen {
		if clean[k] < want {
			out[k] = true
		}
	}
	return out
}

// Memory is what the memory columns report for one target.
type Memory struct {
	PeakKB, LargestKB int64 // VmHWM over the load phase: sum over processes, biggest process
	Procs             int
	Idle              []IdleRep
}

// IdleRep is one repetition of the idle-connection test.
type IdleRep struct {
	BeforeKB, AfterKB int64 // VmRSS summed over the target's processes
	Open, Asked       int
	AliveAtEnd        int
}

// PerConnKiB is the RSS growth per open connection.
func (r IdleRep) PerConnKiB() float64 {
	if r.Open == 0 {
		return math.NaN()
	}
	return float64(r.AfterKB-r.BeforeKB) / float64(r.Open)
}

// Report is everything the tables print.
type Report struct {
	Baseline  string   // the target ratios are taken against
	Targets   []string // in print order
	Paths     []string
	NoisePct  float64
	IdleConns int
	Runs      []Run
	Memory    map[string]*Memory
	Proxyless map[string]bool // targets without a proxy process (direct)
}

// Write prints the tables.
func (rep Report) Write(w io.Writer) {
	cells := Summarize(rep.Runs, rep.NoisePct)
	if len(cells) > 0 {
		rep.writeThroughput(w, cells)
		rep.writeComparisons(w, cells)
	}
	if len(rep.Memory) > 0 {
		rep.writeMemory(w)
	}
}

func (rep Report) writeThroughput(w io.Writer, cells map[Key]Cell) {
	meas, disturbed := 0, 0
	for _, r := range rep.Runs {
		if !r.Warmup {
			meas++
			if r.Noise() > rep.NoisePct {
				disturbed++
			}
		}
	}
	base := rep.Baseline
	fmt.Fprintln(w, "== Throughput and latency (wrk, medians over interleaved rounds) ==")
	fmt.Fprintf(w, "%d measured runs, %d disturbed (outside CPU + steal > %g%% of the machine), left out where a cell had >= 2 clean runs.\n", meas, disturbed, rep.NoisePct)
	fmt.Fprintf(w, "x%s: ratio of median req/s to %s on the same path; paired: median of the per-round ratios.\n", base, base)
	fmt.Fprintln(w, "proxy CPU: user+sys CPU of the target's process tree per request; new upstream conns: backend accepts per run;")
	fmt.Fprintln(w, "peak RSS: VmHWM summed over the target's processes at the end of the load phase; n: runs used/taken, '!' = too few clean runs, all used.")
	fmt.Fprintln(w)
	t := &table{head: []string{"target", "path", "req/s", "x" + base, "paired", "p50 ms", "p99 ms", "proxy CPU us/req",
		"new upstream conns", "peak RSS MiB", "n", "spread%", "noise%", "errors"}}
	for _, p := range rep.Paths {
		for _, name := range rep.Targets {
			c, ok := cells[Key{name, p}]
			if !ok {
				continue
			}
			b, hasBase := cells[Key{base, p}]
			ratio, paired := math.NaN(), math.NaN()
			if hasBase {
				ratio, paired = stats.Ratio(c.RPS, b.RPS), stats.PairedRatio(c.ByRound, b.ByRound)
			}
			flag := ""
			if c.TooNoisy {
				flag = "!"
			}
			cpu, up, peak := num(c.CPUusPerReq, 1), num(c.NewUpstream, 0), "-"
			if rep.Proxyless[name] {
				cpu, up = "-", "-"
			}
			if m := rep.Memory[name]; m != nil && m.PeakKB > 0 {
				peak = num(float64(m.PeakKB)/1024, 1)
			}
			t.add(name, p, thousands(c.RPS)+flag, num(ratio, 2), num(paired, 2), num(c.P50ms, 2), num(c.P99ms, 2),
				cpu, up, peak, fmt.Sprintf("%d/%d", c.Used, c.Taken), num(c.Spread, 0), num(c.Noise, 1),
				strconv.FormatInt(c.Errors, 10))
		}
	}
	t.write(w)
	fmt.Fprintln(w)
}

// comparisons are the pairs that differ in one thing only: the upstream
// transport, or upstream keep-alive.
func comparisons() [][3]string {
	return [][3]string{
		{"wisp", "wisp-tcp", "wisp: UDS vs TCP upstream, keepalive 32"},
		{"wisp", "wisp-noka", "wisp UDS: keepalive 32 vs none (seed-style)"},
		{"wisp-noka", "nginx-noka", "wisp vs nginx, UDS, no upstream keepalive"},
		{"nginx-ka", "nginx-tcp-ka", "nginx: UDS vs TCP upstream, keepalive 32"},
		{"nginx-noka", "nginx-tcp-noka", "nginx: UDS vs TCP upstream, no keepalive"},
		{"nginx-ka", "nginx-noka", "nginx UDS: keepalive 32 vs none (seed-style)"},
		{"nginx-tcp-ka", "nginx-tcp-noka", "nginx TCP: keepalive 32 vs none"},
	}
}

func (rep Report) writeComparisons(w io.Writer, cells map[Key]Cell) {
	t := &table{head: []string{"comparison", "path", "targets", "req/s ratio", "paired", "p99 ms", "proxy CPU us/req"},
		left: 3}
	for _, cmp := range comparisons() {
		for _, p := range rep.Paths {
			a, okA := cells[Key{cmp[0], p}]
			b, okB := cells[Key{cmp[1], p}]
			if !okA || !okB {
				continue
			}
			t.add(cmp[2], p, cmp[0]+" / "+cmp[1], num(stats.Ratio(a.RPS, b.RPS), 3),
				num(stats.PairedRatio(a.ByRound, b.ByRound), 3),
				num(a.P99ms, 2)+" / "+num(b.P99ms, 2), num(a.CPUusPerReq, 1)+" / "+num(b.CPUusPerReq, 1))
		}
	}
	if len(t.rows) == 0 {
		return
	}
	fmt.Fprintln(w, "== UDS vs TCP upstream, keep-alive vs not (ratio = first / second) ==")
	t.write(w)
	fmt.Fprintln(w)
}

func (rep Report) writeMemory(w io.Writer) {
	fmt.Fprintln(w, "== Memory ==")
	fmt.Fprintln(w, "peak RSS: VmHWM summed over the target's processes after the load phase (shared pages count once per process);")
	fmt.Fprintf(w, "idle test: a fresh instance, %d keep-alive client connections that each made one GET /small, then sit idle;\n", rep.IdleConns)
	fmt.Fprintln(w, "RSS = VmRSS summed over the target's processes; KiB/conn = (with conns - before) / open conns, median of reps.")
	fmt.Fprintln(w, "Kernel socket buffers are not in RSS.")
	fmt.Fprintln(w)
	t := &table{head: []string{"target", "peak RSS MiB", "procs", "largest proc MiB", "idle RSS before MiB",
		"with conns MiB", "KiB/conn", "open/asked", "alive at end", "reps"}}
	names := append([]string(nil), rep.Targets...)
	for name := range rep.Memory {
		if !contains(names, name) {
			names = append(names, name)
		}
	}
	for _, name := range names {
		m := rep.Memory[name]
		if m == nil {
			continue
		}
		peak, procs, largest := "-", "-", "-"
		if m.PeakKB > 0 {
			peak, procs, largest = num(float64(m.PeakKB)/1024, 1), strconv.Itoa(m.Procs), num(float64(m.LargestKB)/1024, 1)
		}
		var before, after, per []float64
		openMin, askedMin, aliveMin := math.MaxInt, math.MaxInt, math.MaxInt
		for _, r := range m.Idle {
			before = append(before, float64(r.BeforeKB)/1024)
			after = append(after, float64(r.AfterKB)/1024)
			per = append(per, r.PerConnKiB())
			openMin, askedMin, aliveMin = min(openMin, r.Open), min(askedMin, r.Asked), min(aliveMin, r.AliveAtEnd)
		}
		openAsked, alive := "-", "-"
		if len(m.Idle) > 0 {
			openAsked, alive = fmt.Sprintf("%d/%d", openMin, askedMin), strconv.Itoa(aliveMin)
		}
		t.add(name, peak, procs, largest, num(stats.Median(before), 1), num(stats.Median(after), 1),
			num(stats.Median(per), 1), openAsked, alive, strconv.Itoa(len(m.Idle)))
	}
	t.write(w)
	fmt.Fprintln(w)
}

func contains(xs []string, s string) bool {
	for _, x := range xs {
		if x == s {
			return true
		}
	}
	return false
}

// num formats x with prec decimals, "-" when it is missing.
func num(x float64, prec int) string {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return "-"
	}
	return strconv.FormatFloat(x, 'f', prec, 64)
}

// thousands formats a req/s figure as 58,497.
func thousands(x float64) string {
	if math.IsNaN(x) {
		return "-"
	}
	s := strconv.FormatInt(int64(math.Round(x)), 10)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// table is a fixed-width text table: the first `left` columns (at least
// one) are left-aligned, the others right-aligned.
type table struct {
	head []string
	rows [][]string
	left int
}

func (t *table) add(cols ...string) { t.rows = append(t.rows, cols) }

func (t *table) write(w io.Writer) {
	width := make([]int, len(t.head))
	for i, h := range t.head {
		width[i] = len(h)
	}
	for _, r := range t.rows {
		for i, c := range r {
			width[i] = max(width[i], len(c))
		}
	}
	line := func(cols []string) {
		var b strings.Builder
		for i, c := range cols {
			if i > 0 {
				b.WriteString("  ")
			}
			pad := strings.Repeat(" ", width[i]-len(c))
			if i < max(1, t.left) {
				b.WriteString(c + pad)
			} else {
				b.WriteString(pad + c)
			}
		}
		fmt.Fprintln(w, strings.TrimRight(b.String(), " "))
	}
	line(t.head)
	dashes := make([]string, len(width))
	for i, n := range width {
		dashes[i] = strings.Repeat("-", n)
	}
	line(dashes)
	for _, r := range t.rows {
		line(r)
	}
}
