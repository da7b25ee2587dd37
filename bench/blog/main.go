// Command blog benchmarks `wisp serve` the way anchors.md measured Ghost:
// wrk -t2 -c32 -d10s --latency over TCP, median of three runs, on the home
// page, a post, a tag page and the posts sitemap, for a site of 1,000 and
// one of 100,000 generated posts; plus idle RSS after boot, peak RSS under
// load, and cold start (process start to the first 200, median of five).
//
//	go run ./bench/blog > blog-results.txt
//
// See bench/README.md, section "Blog".
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"wisp/bench/internal/procfs"
	"wisp/bench/internal/stats"
	"wisp/bench/internal/wrkparse"
)

type config struct {
	sizes          []int
	seed           uint64
	duration       time.Duration
	conns, threads int
	rounds, colds  int
	basePort       int
	work, wispBin  string
	wrk            string
}

func main() {
	var c config
	var sizes string
	flag.StringVar(&sizes, "sizes", "1000,100000", "comma list of site sizes in posts; the first is the baseline of the scale ratios")
	flag.Uint64Var(&c.seed, "seed", 1, "wisp dev seed --seed")
	flag.DurationVar(&c.duration, "d", 10*time.Second, "wrk duration per run")
	flag.IntVar(&c.conns, "c", 32, "wrk connections")
	flag.IntVar(&c.threads, "t", 2, "wrk threads")
	flag.IntVar(&c.rounds, "rounds", 3, "wrk runs per page (the median is reported)")
	flag.IntVar(&c.colds, "cold", 5, "cold starts per site (the median is reported)")
	flag.IntVar(&c.basePort, "port", 18380, "loopback port of the first site; the others count up")
	flag.StringVar(&c.work, "work", filepath.Join(os.TempDir(), "wisp-blogbench"), "work directory; seeded sites are kept there and reused")
	flag.StringVar(&c.wispBin, "wisp-bin", "", "measure this wisp binary instead of building ./cmd/wisp")
	flag.StringVar(&c.wrk, "wrk", "wrk", "wrk program")
	flag.Parse()
	for _, f := range strings.Split(sizes, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n <= 0 {
			fmt.Fprintf(os.Stderr, "blogbench: bad size %q in -sizes\n", f)
			os.Exit(2)
		}
		c.sizes = append(c.sizes, n)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	if err := run(ctx, c, os.Stdout, log); err != nil {
		fmt.Fprintln(os.Stderr, "blogbench:", err)
		os.Exit(1)
	}
}

// page is one URL of a site and what was measured on it.
type page struct {
	name, path string
	status     int
	size       int64   // body bytes
	firstMs    float64 // the first request after boot: rendered, not cached
	rps        []float64
	p50, p99   []float64 // ms
	errors     int64
}

// result is everything measured on one site.
type result struct {
	posts          int
	seedTime       time.Duration
	pages          []page
	coldMs         []float64
	idleKB, peakKB int64
	loadAvgAtStart string
}

func run(ctx context.Context, c config, out io.Writer, log *slog.Logger) error {
	if err := os.MkdirAll(c.work, 0o755); err != nil {
		return err
	}
	wisp := c.wispBin
	if wisp == "" {
		wisp = filepath.Join(c.work, "wisp")
		log.Info("building wisp", "out", wisp)
		build := exec.CommandContext(ctx, "go", "build", "-o", wisp, "./cmd/wisp")
		build.Stdout, build.Stderr = os.Stderr, os.Stderr
		if err := build.Run(); err != nil {
			return fmt.Errorf("go build ./cmd/wisp (run from the repository root): %w", err)
		}
	}
	if _, err := exec.LookPath(c.wrk); err != nil {
		return fmt.Errorf("wrk is needed (apt-get install wrk): %w", err)
	}
	started := time.Now()
	var results []*result
	for i, n := range c.sizes {
		s := site{posts: n, dir: filepath.Join(c.work, fmt.Sprintf("site-%d", n)), port: c.basePort + i}
		log.Info("preparing site", "posts", n, "dir", s.dir)
		took, err := s.prepare(ctx, wisp, c.seed, os.Stderr)
		if err != nil {
			return err
		}
		r, err := measureSite(ctx, c, s, wisp, log)
		if err != nil {
			return fmt.Errorf("site of %d posts: %w", n, err)
		}
		r.seedTime = took
		results = append(results, r)
	}
	report(out, c, started, results)
	return nil
}

func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

func measureSite(ctx context.Context, c config, s site, wisp string, log *slog.Logger) (*result, error) {
	r := &result{posts: s.posts, loadAvgAtStart: loadAvg()}
	logPath := filepath.Join(s.dir, "serve.log")
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	defer logf.Close()
	// Cold starts first, while the database file is as the seed left it
	// (the OS page cache is warm, as on a server that restarts).
	for i := range c.colds {
		start := time.Now()
		sv, err := startServer(s, wisp, logf)
		if err != nil {
			return nil, err
		}
		d, err := sv.firstOK(ctx, s.base()+"/", start, 30*time.Second)
		sv.stop()
		if err != nil {
			return nil, fmt.Errorf("cold start %d: %w (log: %s)", i+1, err, logPath)
		}
		r.coldMs = append(r.coldMs, float64(d.Microseconds())/1000)
	}
	pages, err := s.pages(ctx)
	if err != nil {
		return nil, err
	}
	sv, err := startServer(s, wisp, logf)
	if err != nil {
		return nil, err
	}
	defer sv.stop()
	if err := sv.listening(ctx, fmt.Sprintf("127.0.0.1:%d", s.port), 30*time.Second); err != nil {
		return nil, err
	}
	// Idle after boot: the server listens and has served nothing yet.
	time.Sleep(time.Second)
	proc := procfs.System()
	r.idleKB = proc.Status([]int{sv.pid()}, "VmRSS").SumKB
	for i := range pages {
		var took time.Duration
		pages[i].status, pages[i].size, took, err = fetch(s.base() + pages[i].path)
		if err != nil {
			return nil, fmt.Errorf("GET %s: %w", pages[i].path, err)
		}
		pages[i].firstMs = ms(took)
	}
	for round := range c.rounds {
		for i := range pages {
			p := &pages[i]
			if p.status != 200 {
				continue
			}
			log.Info("wrk", "posts", s.posts, "page", p.name, "path", p.path, "round", round+1)
			res, err := runWrk(ctx, c, s.base()+p.path)
			if err != nil {
				return nil, err
			}
			p.errors += res.SocketErrors() + res.Non2xx
			p.rps = append(p.rps, res.RPS)
			p.p50 = append(p.p50, ms(res.P50))
			p.p99 = append(p.p99, ms(res.P99))
		}
	}
	r.peakKB = proc.Status([]int{sv.pid()}, "VmHWM").SumKB
	r.pages = pages
	return r, nil
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func runWrk(ctx context.Context, c config, url string) (wrkparse.Result, error) {
	ctx, cancel := context.WithTimeout(ctx, c.duration+30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, c.wrk, "-t"+strconv.Itoa(c.threads), "-c"+strconv.Itoa(c.conns),
		"-d"+strconv.Itoa(int(math.Ceil(c.duration.Seconds())))+"s", "--latency", url)
	outb, err := cmd.CombinedOutput()
	if err != nil {
		return wrkparse.Result{}, fmt.Errorf("wrk %s: %w\n%s", url, err, outb)
	}
	return wrkparse.Parse(string(outb))
}

// The anchors: real Ghost 6 on this kind of machine (anchors.md), not
// measured in this run.
const (
	ghostHomeRPS = 106.0
	ghostPostRPS = 150.0
	ghostPeakMiB = 540.0
	ghostIdleMiB = 230.0
	ghostColdMs  = 1900.0
)

func ghostRPS(name string) float64 {
	switch name {
	case "home":
		return ghostHomeRPS
	case "post":
		return ghostPostRPS
	}
	return math.NaN()
}

func report(w io.Writer, c config, started time.Time, results []*result) {
	fmt.Fprintf(w, "# Blog benchmark, %s\n", started.UTC().Format("2006-01-02 15:04 UTC"))
	fmt.Fprintf(w, "# host: %d CPUs, %s; load average at the start of each site: %s\n", runtime.NumCPU(), runtime.Version(), loadAvgs(results))
	fmt.Fprintf(w, "# wrk -t%d -c%d -d%s --latency over TCP to wisp serve (no proxy); median of %d runs per page; cold start: median of %d\n",
		c.threads, c.conns, c.duration, c.rounds, c.colds)
	fmt.Fprintf(w, "# xGhost: ratio to the Ghost 6 anchors of anchors.md (home %.0f req/s, post %.0f req/s, %.0f MiB peak RSS, %.0f MiB idle, %.1f s cold start),\n",
		ghostHomeRPS, ghostPostRPS, ghostPeakMiB, ghostIdleMiB, ghostColdMs/1000)
	fmt.Fprintf(w, "#   measured on this kind of machine through nginx, NOT in this run: a rough guide, not a paired comparison.\n\n")
	fmt.Fprintf(w, "1st ms: the first request of the page after boot (rendered from the database; later ones come from the page cache)\n\n")
	fmt.Fprintf(w, "%-8s %-8s %-30s %9s %8s %8s %8s %6s %9s %8s\n", "posts", "page", "path", "req/s", "xGhost", "p50 ms", "p99 ms", "errors", "KiB", "1st ms")
	for _, r := range results {
		for _, p := range r.pages {
			if p.status != 200 {
				fmt.Fprintf(w, "%-8d %-8s %-30s %9s %8s %8s %8s %6s %9s %8s\n", r.posts, p.name, trim(p.path, 30), fmt.Sprintf("HTTP %d", p.status), "-", "-", "-", "-", "-", "-")
				continue
			}
			rps := stats.Median(p.rps)
			fmt.Fprintf(w, "%-8d %-8s %-30s %9.0f %8s %8.2f %8.2f %6d %9.1f %8.1f\n", r.posts, p.name, trim(p.path, 30), rps,
				ratio(stats.Ratio(rps, ghostRPS(p.name))), stats.Median(p.p50), stats.Median(p.p99), p.errors, float64(p.size)/1024, p.firstMs)
		}
	}
	fmt.Fprintf(w, "\n%-8s %12s %13s %8s %13s %8s %15s %8s %10s\n", "posts", "seed time s", "idle RSS MiB", "xGhost", "peak RSS MiB", "xGhost", "cold start ms", "xGhost", "cold runs")
	for _, r := range results {
		idle, peak, cold := float64(r.idleKB)/1024, float64(r.peakKB)/1024, stats.Median(r.coldMs)
		seed := "reused"
		if r.seedTime > 0 {
			seed = fmt.Sprintf("%.1f", r.seedTime.Seconds())
		}
		fmt.Fprintf(w, "%-8d %12s %13.1f %8s %13.1f %8s %15.1f %8s %10s\n", r.posts, seed, idle, ratio(ghostIdleMiB/idle),
			peak, ratio(ghostPeakMiB/peak), cold, ratio(ghostColdMs/cold), joinMs(r.coldMs))
	}
	fmt.Fprintf(w, "(xGhost for memory and cold start: how many times smaller/faster than Ghost)\n")
	if len(results) < 2 {
		return
	}
	base := results[0]
	fmt.Fprintf(w, "\nScale: each site against the %d-post one (issue 5's target: latency within 2x)\n", base.posts)
	fmt.Fprintf(w, "%-8s %-8s %10s %10s %11s %12s\n", "posts", "page", "p50 ratio", "p99 ratio", "req/s ratio", "1st ms ratio")
	for _, r := range results[1:] {
		for i, p := range r.pages {
			if i >= len(base.pages) || p.status != 200 || base.pages[i].status != 200 {
				fmt.Fprintf(w, "%-8d %-8s %10s %10s %11s %12s\n", r.posts, p.name, "-", "-", "-", "-")
				continue
			}
			b := base.pages[i]
			fmt.Fprintf(w, "%-8d %-8s %10s %10s %11s %12s\n", r.posts, p.name,
				ratio(stats.Ratio(stats.Median(p.p50), stats.Median(b.p50))),
				ratio(stats.Ratio(stats.Median(p.p99), stats.Median(b.p99))),
				ratio(stats.Ratio(stats.Median(p.rps), stats.Median(b.rps))),
				ratio(stats.Ratio(p.firstMs, b.firstMs)))
		}
	}
}

func loadAvgs(results []*result) string {
	var l []string
	for _, r := range results {
		l = append(l, fmt.Sprintf("%d posts: %s", r.posts, r.loadAvgAtStart))
	}
	return strings.Join(l, "; ")
}

func ratio(x float64) string {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return "-"
	}
	return fmt.Sprintf("%.2f", x)
}

func trim(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n-3] + "..."
}

func joinMs(xs []float64) string {
	var l []string
	for _, x := range xs {
		l = append(l, strconv.FormatFloat(x, 'f', 0, 64))
	}
	return strings.Join(l, ",")
}
