// Command proxybench measures wisp's front proxy against Debian's nginx,
// caddy and haproxy on one machine: see bench/README.md.
//
//	go run ./bench/cmd/proxybench [flags]            run the benchmark
//	proxybench backend -uds PATH -tcp ADDR           run only the backend
package main

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"wisp/bench/internal/backend"
	"wisp/bench/internal/harness"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	var err error
	if len(os.Args) > 1 && os.Args[1] == "backend" {
		err = runBackend(ctx, os.Args[2:], log)
	} else {
		err = runBench(ctx, os.Args[1:], os.Stdout, log)
	}
	switch {
	case errors.Is(err, flag.ErrHelp):
	case errors.Is(err, context.Canceled):
		fmt.Fprintln(os.Stderr, "proxybench: interrupted; every process it started has been stopped")
		os.Exit(130)
	case err != nil:
		fmt.Fprintln(os.Stderr, "proxybench:", err)
		os.Exit(1)
	}
}

func runBackend(ctx context.Context, args []string, log *slog.Logger) error {
	fs := flag.NewFlagSet("proxybench backend", flag.ContinueOnError)
	uds := fs.String("uds", "", "Unix socket path to listen on (mode 0666)")
	tcp := fs.String("tcp", "", "TCP address to listen on, e.g. 127.0.0.1:18280")
	cert := fs.String("tls-cert", "", "serve HTTPS on the TCP address with this PEM certificate (and -tls-key)")
	key := fs.String("tls-key", "", "the PEM private key of -tls-cert")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("backend: unexpected arguments %q", fs.Args())
	}
	srv := backend.New(log)
	if *cert != "" || *key != "" {
		pair, err := tls.LoadX509KeyPair(*cert, *key)
		if err != nil {
			return fmt.Errorf("backend: %w", err)
		}
		srv.TLS = &tls.Config{Certificates: []tls.Certificate{pair}, NextProtos: []string{"http/1.1"}}
	}
	return srv.Serve(ctx, *uds, *tcp)
}

func runBench(ctx context.Context, args []string, stdout io.Writer, log *slog.Logger) error {
	fs := flag.NewFlagSet("proxybench", flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: go run ./bench/cmd/proxybench [flags]   (tables to stdout, progress to stderr)")
		fs.PrintDefaults()
	}
	var cfg harness.Config
	fs.DurationVar(&cfg.Duration, "d", 10*time.Second, "duration of each measured wrk run (whole seconds)")
	fs.DurationVar(&cfg.Warmup, "warmup", 2*time.Second, "wrk warm-up per target and path before round 1 (0 = none)")
	fs.IntVar(&cfg.Conns, "c", 64, "wrk connections")
	fs.IntVar(&cfg.Threads, "t", 1, "wrk threads")
	fs.IntVar(&cfg.Rounds, "rounds", 3, "interleaved rounds")
	fs.IntVar(&cfg.ExtraRounds, "extra-rounds", 3, "at most this many extra rounds re-run cells whose runs were disturbed")
	paths := fs.String("paths", "/small,/page,/big", "comma-separated paths: /small (60 B), /page (16 KiB), /big (1 MiB), /echo (POST 4 KiB)")
	names := fs.String("targets", "direct,wisp,wisp-tcp,nginx-ka,nginx-noka,nginx-tcp-ka,nginx-tcp-noka,caddy,haproxy",
		"comma-separated targets (also: wisp-noka)")
	fs.IntVar(&cfg.BasePort, "base-port", 18280, "first of the 11 loopback ports used (backend TCP, then the targets)")
	fs.IntVar(&cfg.IdleConns, "idle-conns", 2000, "idle keep-alive client connections in the memory test")
	fs.IntVar(&cfg.IdleReps, "idle-reps", 3, "repetitions of the memory test per target")
	fs.BoolVar(&cfg.SkipLoad, "skip-load", false, "skip the wrk load phase")
	fs.BoolVar(&cfg.SkipIdle, "skip-idle", false, "skip the idle-connection memory test")
	fs.BoolVar(&cfg.TLS, "tls", false, "clients speak HTTPS: every proxy listens with TLS on a generated ECDSA P-256 certificate (not with direct)")
	fs.Float64Var(&cfg.QuietPct, "quiet-pct", 15, "before each run, wait until other processes use at most this % of the machine")
	fs.DurationVar(&cfg.QuietWait, "quiet-wait", 30*time.Second, "... but wait no longer than this")
	fs.Float64Var(&cfg.NoisePct, "noise-pct", 10, "a run during which other processes used more than this % of the machine is disturbed")
	fs.StringVar(&cfg.Out, "out", "", "results directory (default $TMPDIR/wisp-bench/results-STAMP)")
	fs.StringVar(&cfg.RepoDir, "repo", "", "the wisp repository to build ./cmd/wisp from (default: found from the working directory)")
	fs.StringVar(&cfg.WispBin, "wisp-bin", "", "use this wisp binary instead of building one")
	fs.StringVar(&cfg.Nginx, "nginx", "/usr/sbin/nginx", "nginx binary")
	fs.StringVar(&cfg.Caddy, "caddy", "caddy", "caddy binary")
	fs.StringVar(&cfg.HAProxy, "haproxy", "/usr/sbin/haproxy", "haproxy binary")
	fs.StringVar(&cfg.Wrk, "wrk", "wrk", "wrk binary")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q (see -h)", fs.Args())
	}
	cfg.Paths = splitList(*paths)
	cfg.Targets = splitList(*names)
	if cfg.TLS && !flagSet(fs, "targets") {
		// The backend serves plain HTTP: there is no TLS ceiling to load.
		cfg.Targets = slices.DeleteFunc(cfg.Targets, func(n string) bool { return n == "direct" })
	}
	self, err := os.Executable()
	if err != nil {
		return fmt.Errorf("find own binary to run the backend: %w", err)
	}
	cfg.Self = self
	if cfg.RepoDir == "" {
		cfg.RepoDir = findModule("wisp")
	}
	if cfg.Out != "" {
		if cfg.Out, err = filepath.Abs(cfg.Out); err != nil {
			return err
		}
	}
	return harness.Run(ctx, cfg, stdout, log)
}

func flagSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

// findModule walks up from the working directory to the go.mod that
// declares module, and returns its directory ("" if there is none).
func findModule(module string) string {
	dir, err := os.Getwd()
	if err != nil {
		return ""
	}
	for {
		b, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil {
			for _, line := range strings.Split(string(b), "\n") {
				if f := strings.Fields(line); len(f) == 2 && f[0] == "module" && f[1] == module {
					return dir
				}
			}
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return ""
		}
		dir = parent
	}
}
