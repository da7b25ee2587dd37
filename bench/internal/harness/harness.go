// Package harness runs the proxy benchmark: it starts the backend and each
// target, loads them in interleaved rounds with wrk, measures CPU and
// memory from /proc, runs the idle-connection test and writes the tables
// and the plot.
package harness

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"wisp/bench/internal/backend"
	"wisp/bench/internal/procfs"
	"wisp/bench/internal/results"
	"wisp/bench/internal/targets"
)

// Config is one benchmark run's settings.
type Config struct {
	Duration    time.Duration // per measured wrk run, whole seconds
	Warmup      time.Duration // per target and path before round 1; 0 skips
	Conns       int
	Threads     int
	Rounds      int
	ExtraRounds int // at most this many extra rounds for cells with disturbed runs
	Paths       []string
	Targets     []string
	BasePort    int
	IdleConns   int
	IdleReps    int
	SkipLoad    bool
	SkipIdle    bool
	TLS         bool          // clients speak HTTPS to every target
	QuietPct    float64       // before a run, wait until outside CPU is at most this
	QuietWait   time.Duration // ... but no longer than this
	NoisePct    float64       // a run with more outside CPU + steal is disturbed
	Out         string        // results directory
	RepoDir     string        // the wisp module, to build ./cmd/wisp
	WispBin     string        // a prebuilt wisp instead of building one
	Nginx       string
	Caddy       string
	HAProxy     string
	Wrk         string
	Self        string // this program, which runs the backend as "backend"
}

// baseline is the target every ratio is taken against.
const baseline = "nginx-ka"

func (c *Config) validate() error {
	switch {
	case c.Duration < time.Second || c.Duration > 5*time.Minute || c.Duration%time.Second != 0:
		return fmt.Errorf("-d %v: want whole seconds from 1s to 5m", c.Duration)
	case c.Warmup < 0 || c.Warmup%time.Second != 0:
		return fmt.Errorf("-warmup %v: want whole seconds", c.Warmup)
	case c.Conns < 1 || c.Conns > 10000:
		return fmt.Errorf("-c %d: want 1 to 10000", c.Conns)
	case c.Threads < 1 || c.Threads > c.Conns:
		return fmt.Errorf("-t %d: want 1 to the number of connections", c.Threads)
	case c.Rounds < 1 || c.Rounds > 50:
		return fmt.Errorf("-rounds %d: want 1 to 50", c.Rounds)
	case c.ExtraRounds < 0:
		return fmt.Errorf("-extra-rounds %d: want >= 0", c.ExtraRounds)
	case c.IdleConns < 1 || c.IdleConns > 50000:
		return fmt.Errorf("-idle-conns %d: want 1 to 50000", c.IdleConns)
	case c.IdleReps < 1:
		return fmt.Errorf("-idle-reps %d: want >= 1", c.IdleReps)
	case c.BasePort < 1024 || c.BasePort > 65000:
		return fmt.Errorf("-base-port %d: want 1024 to 65000", c.BasePort)
	case c.SkipLoad && c.SkipIdle:
		return errors.New("-skip-load and -skip-idle together leave nothing to do")
	}
	if len(c.Paths) == 0 {
		return errors.New("-paths: none given")
	}
	for _, p := range c.Paths {
		if _, ok := backend.ExpectedSize(p); !ok && p != "/echo" {
			return fmt.Errorf("-paths: unknown path %q (use /small, /page, /big, /echo)", p)
		}
	}
	return nil
}

// bench is one run in progress.
type bench struct {
	cfg     Config
	log     *slog.Logger
	proc    procfs.Proc
	procs   procs
	env     targets.Env
	work    string
	targets []targets.Target
	launch  map[string]*targets.Launch
	backend *proc
	runs    []results.Run
	memory  map[string]*results.Memory
	runsTSV *os.File
}

// Run runs the benchmark and writes the tables to stdout and, with the raw
// data, the configs and the plot, to cfg.Out. Every process it starts is
// stopped before it returns, also when ctx is cancelled (Ctrl-C).
func Run(ctx context.Context, cfg Config, stdout io.Writer, log *slog.Logger) error {
	if err := cfg.validate(); err != nil {
		return err
	}
	sel, err := targets.Select(targets.Catalog(cfg.BasePort), cfg.Targets)
	if err != nil {
		return err
	}
	if cfg.TLS {
		for _, t := range sel {
			if t.Kind == targets.Direct {
				return fmt.Errorf("-tls: target %s is the plain-HTTP backend itself; leave it out", t.Name)
			}
		}
	}
	b := &bench{cfg: cfg, log: log, proc: procfs.System(), targets: sel,
		launch: map[string]*targets.Launch{}, memory: map[string]*results.Memory{}}
	// One deferred step, in this order: the processes use the work
	// directory (the socket, nginx's run files) until they are stopped.
	defer func() {
		b.procs.stopAll()
		if b.work != "" {
			os.RemoveAll(b.work)
		}
	}()

	unlock, err := lock()
	if err != nil {
		return err
	}
	defer unlock()
	if err := raiseFileLimit(cfg.IdleConns + 1000); err != nil {
		return err
	}
	if err := b.checkPorts(); err != nil {
		return err
	}
	if err := b.setup(ctx); err != nil {
		return err
	}

	header := b.header(ctx)
	fmt.Fprint(stdout, header)
	if err := b.startBackend(ctx); err != nil {
		return err
	}
	if !cfg.SkipLoad {
		if err := b.loadPhase(ctx); err != nil {
			return err
		}
	}
	if !cfg.SkipIdle {
		if err := b.idlePhase(ctx); err != nil {
			return err
		}
	}
	return b.report(stdout, header)
}

// lock keeps two harness runs from loading the machine at once.
func lock() (func(), error) {
	path := filepath.Join(os.TempDir(), "wisp-bench.lock")
	// Read-only: flock needs no write access, so users share one lock file.
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDONLY, 0o644)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return nil, fmt.Errorf("another benchmark run holds %s", path)
	}
	return func() { f.Close() }, nil
}

// raiseFileLimit lifts the soft open-files limit to the hard one. Setting
// it explicitly (rather than relying on the Go runtime's own raise) makes
// the children inherit it: the proxies need it for the idle test.
func raiseFileLimit(need int) error {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		return err
	}
	rl.Cur = rl.Max
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		return fmt.Errorf("raise the open-files limit: %w", err)
	}
	if rl.Cur < uint64(need) {
		return fmt.Errorf("open-files hard limit %d is below the %d the idle test needs (ulimit -Hn, or lower -idle-conns)", rl.Max, need)
	}
	return nil
}

func (b *bench) checkPorts() error {
	for _, port := range targets.Ports(b.cfg.BasePort) {
		ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
		if err != nil {
			return fmt.Errorf("port %d is in use (pick another -base-port): %w", port, err)
		}
		ln.Close()
	}
	return nil
}

// setup finds the programs, builds wisp, makes the work and results
// directories, and writes and checks every target's config.
func (b *bench) setup(ctx context.Context) error {
	cfg := &b.cfg
	kinds := map[targets.Kind]bool{}
	for _, t := range b.targets {
		kinds[t.Kind] = true
	}
	var err error
	need := func(name string, dst *string) {
		if err != nil {
			return
		}
		if *dst, err = exec.LookPath(*dst); err != nil {
			err = fmt.Errorf("%s is needed and missing: %w (Debian: apt-get install %s)", name, err, name)
		}
	}
	need("wrk", &cfg.Wrk)
	if kinds[targets.Nginx] {
		need("nginx", &cfg.Nginx)
	}
	if kinds[targets.Caddy] {
		need("caddy", &cfg.Caddy)
	}
	if kinds[targets.HAProxy] {
		need("haproxy", &cfg.HAProxy)
	}
	if err != nil {
		return err
	}
	if _, lerr := exec.LookPath("timeout"); lerr != nil {
		return fmt.Errorf("timeout (coreutils) is needed to bound wrk: %w", lerr)
	}

	if b.work, err = os.MkdirTemp("", "wisp-bench-"); err != nil {
		return err
	}
	// nginx's workers run as nobody and must reach the socket inside.
	if err := os.Chmod(b.work, 0o755); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Join(b.work, "bin"), 0o755); err != nil {
		return err
	}
	// wrk's script for POST /echo: a 4 KiB body.
	lua := "wrk.method = \"POST\"\nwrk.body = string.rep(\"x\", 4096)\nwrk.headers[\"Content-Type\"] = \"application/octet-stream\"\n"
	if err := os.WriteFile(filepath.Join(b.work, "post.lua"), []byte(lua), 0o644); err != nil {
		return err
	}
	if cfg.Out == "" {
		cfg.Out = filepath.Join(os.TempDir(), "wisp-bench", "results-"+time.Now().Format("20060102-150405"))
	}
	// The processes' output stays with the results: the work directory is
	// removed at the end.
	for _, d := range []string{"configs", "logs", "raw"} {
		if err := os.MkdirAll(filepath.Join(cfg.Out, d), 0o755); err != nil {
			return err
		}
	}
	if kinds[targets.Wisp] && cfg.WispBin == "" {
		if cfg.WispBin, err = buildWisp(ctx, cfg.RepoDir, filepath.Join(b.work, "bin", "wisp"), b.log); err != nil {
			return err
		}
	}
	b.env = targets.Env{
		Dir: b.work, Sock: filepath.Join(b.work, "upstream.sock"),
		BackendAddr: "127.0.0.1:" + strconv.Itoa(cfg.BasePort),
		Nginx:       cfg.Nginx, Caddy: cfg.Caddy, HAProxy: cfg.HAProxy, Wisp: cfg.WispBin, Self: cfg.Self,
	}
	if cfg.TLS {
		if b.env.TLS, err = targets.WriteCert(b.work); err != nil {
			return err
		}
	}
	prep := b.targets
	if !cfg.SkipIdle {
		prep = append(append([]targets.Target(nil), prep...), targets.IdleReference(cfg.BasePort))
	}
	for _, t := range prep {
		l, err := t.Prepare(ctx, b.env)
		if err != nil {
			return err
		}
		b.launch[t.Name] = l
		if l != nil && l.Config != "" {
			if err := copyFile(l.Config, filepath.Join(cfg.Out, "configs", filepath.Base(l.Config))); err != nil {
				return err
			}
		}
	}
	return nil
}

// buildWisp builds ./cmd/wisp of the module at repo.
func buildWisp(ctx context.Context, repo, out string, log *slog.Logger) (string, error) {
	if repo == "" {
		return "", errors.New("wisp: cannot find the wisp module (run from the repository or pass -repo or -wisp-bin)")
	}
	log.Info("building wisp", "repo", repo)
	ctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "build", "-o", out, "./cmd/wisp")
	cmd.Dir = repo
	var msg bytes.Buffer
	cmd.Stdout, cmd.Stderr = &msg, &msg
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("go build ./cmd/wisp: %v\n%s", err, strings.TrimSpace(msg.String()))
	}
	return out, nil
}

func copyFile(src, dst string) error {
	b, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	return os.WriteFile(dst, b, 0o644)
}

func (b *bench) startBackend(ctx context.Context) error {
	args := []string{b.cfg.Self, "backend", "-uds", b.env.Sock, "-tcp", b.env.BackendAddr}
	p, err := b.procs.start("backend", args, nil, filepath.Join(b.cfg.Out, "logs", "backend.log"))
	if err != nil {
		return err
	}
	b.backend = p
	if err := waitReady(ctx, p, "http://"+b.env.BackendAddr, 10*time.Second); err != nil {
		return fmt.Errorf("backend: %w", err)
	}
	b.log.Info("backend up", "pid", p.pid(), "uds", b.env.Sock, "tcp", b.env.BackendAddr)
	return nil
}

// header describes the machine, the tools and the method, for the top of
// the results.
func (b *bench) header(ctx context.Context) string {
	var h strings.Builder
	fmt.Fprintf(&h, "# Proxy benchmark, %s\n", time.Now().UTC().Format("2006-01-02 15:04 UTC"))
	osrel, _ := os.ReadFile("/proc/sys/kernel/osrelease")
	load, _ := os.ReadFile("/proc/loadavg")
	fmt.Fprintf(&h, "# host: Linux %s, %d CPUs; load average at start: %s\n", strings.TrimSpace(string(osrel)),
		runtime.NumCPU(), strings.Join(strings.Fields(string(load))[:min(3, len(strings.Fields(string(load))))], " "))
	kinds := map[targets.Kind]bool{}
	for _, t := range b.targets {
		kinds[t.Kind] = true
	}
	var tools []string
	// version keeps the first line of a tool's version output, less the
	// banner around the version.
	version := func(use bool, name string, args ...string) {
		if !use {
			return
		}
		out, _ := exec.CommandContext(ctx, args[0], args[1:]...).CombinedOutput()
		line, _, _ := strings.Cut(strings.TrimSpace(string(out)), "\n")
		line = strings.TrimPrefix(line, "nginx version: ")
		line, _, _ = strings.Cut(line, " [epoll]")
		line, _, _ = strings.Cut(line, " - https://")
		if !strings.Contains(strings.ToLower(line), name) {
			line = name + " " + line
		}
		tools = append(tools, strings.TrimSpace(line))
	}
	version(true, "wrk", b.cfg.Wrk, "-v")
	version(kinds[targets.Nginx], "nginx", b.cfg.Nginx, "-v")
	version(kinds[targets.Caddy], "caddy", b.cfg.Caddy, "version")
	version(kinds[targets.HAProxy], "haproxy", b.cfg.HAProxy, "-v")
	fmt.Fprintf(&h, "# tools: %s; harness %s\n", strings.Join(tools, "; "), runtime.Version())
	if kinds[targets.Wisp] {
		commit := "unknown"
		if out, err := exec.CommandContext(ctx, "git", "-C", b.cfg.RepoDir, "rev-parse", "--short", "HEAD").Output(); err == nil && b.cfg.RepoDir != "" {
			commit = strings.TrimSpace(string(out))
		}
		fmt.Fprintf(&h, "# wisp: %s (repository at commit %s)\n", b.cfg.WispBin, commit)
	}
	names := make([]string, len(b.targets))
	for i, t := range b.targets {
		names[i] = t.Name
	}
	if b.cfg.TLS {
		h.WriteString("# clients speak HTTPS: every proxy listens with TLS 1.2 and 1.3 on one self-signed ECDSA P-256 certificate, session tickets at its default\n")
	}
	fmt.Fprintf(&h, "# wrk -t%d -c%d -d%s --latency; rounds: %d (+ up to %d extra for disturbed cells); warm-up %s;\n",
		b.cfg.Threads, b.cfg.Conns, b.cfg.Duration, b.cfg.Rounds, b.cfg.ExtraRounds, b.cfg.Warmup)
	fmt.Fprintf(&h, "# order per round: for path in (%s): for target in (%s)\n", strings.Join(b.cfg.Paths, " "), strings.Join(names, " "))
	fmt.Fprintf(&h, "# noise gate: before each run wait (at most %s) until outside CPU <= %g%%; a run is disturbed above %g%%\n",
		b.cfg.QuietWait, b.cfg.QuietPct, b.cfg.NoisePct)
	fmt.Fprintf(&h, "# results: %s\n\n", b.cfg.Out)
	return h.String()
}
