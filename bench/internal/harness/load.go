package harness

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"wisp/bench/internal/backend"
	"wisp/bench/internal/procfs"
	"wisp/bench/internal/results"
	"wisp/bench/internal/targets"
	"wisp/bench/internal/wrkparse"
)

// oneShot is an HTTP client that opens a new connection per request, so
// that the harness's own checks hold no connection open during a run. It
// takes the targets' self-signed certificate on trust: everything is on
// loopback.
func oneShot(timeout time.Duration) *http.Client {
	return &http.Client{Timeout: timeout, Transport: &http.Transport{DisableKeepAlives: true, Proxy: nil,
		TLSClientConfig: insecureTLS()}}
}

// insecureTLS is the client side of a TLS run: HTTP/1.1 (no ALPN h2, as
// wrk), any certificate.
func insecureTLS() *tls.Config {
	return &tls.Config{InsecureSkipVerify: true, NextProtos: []string{"http/1.1"}}
}

// waitReady polls GET /small on base (scheme://host:port) until it
// answers 200, the process exits, or the time is up.
func waitReady(ctx context.Context, p *proc, base string, limit time.Duration) error {
	client := oneShot(2 * time.Second)
	deadline := time.Now().Add(limit)
	var last error
	for time.Now().Before(deadline) {
		if p != nil && p.exited() {
			return fmt.Errorf("exited during startup (%v); its output:\n%s", p.err, p.tail())
		}
		resp, err := client.Get(base + "/small")
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			err = fmt.Errorf("GET /small: status %d", resp.StatusCode)
		}
		last = err
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	out := ""
	if p != nil {
		out = "; its output:\n" + p.tail()
	}
	return fmt.Errorf("no 200 on %s/small within %s (last: %v)%s", base, limit, last, out)
}

// verify checks that a target at base (scheme://host:port) relays every
// path whole before it is loaded: a proxy that answers fast with the wrong
// bytes must not score.
func verify(base string) error {
	client := oneShot(10 * time.Second)
	for _, path := range []string{"/small", "/page", "/big"} {
		want, _ := backend.ExpectedSize(path)
		resp, err := client.Get(base + path)
		if err != nil {
			return fmt.Errorf("GET %s: %w", path, err)
		}
		n, err := io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusOK || n != int64(want) {
			return fmt.Errorf("GET %s: status %d with %d bytes (%v), want 200 with %d", path, resp.StatusCode, n, err, want)
		}
	}
	body := make([]byte, 100_000)
	for i := range body {
		body[i] = byte('a' + i*7%26)
	}
	resp, err := client.Post(base+"/echo", "application/octet-stream", bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("POST /echo: %w", err)
	}
	got, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK || !bytes.Equal(got, body) {
		return fmt.Errorf("POST /echo of %d bytes: status %d, %d bytes back (%v), want the same bytes", len(body), resp.StatusCode, len(got), err)
	}
	return nil
}

func (b *bench) addr(t targets.Target) string { return "127.0.0.1:" + strconv.Itoa(t.Port) }

// base is the URL of a target without a path: https in a TLS run.
func (b *bench) base(t targets.Target) string {
	if b.cfg.TLS {
		return "https://" + b.addr(t)
	}
	return "http://" + b.addr(t)
}

// clientTLS is what the idle test's clients dial with: nil in a plain run.
func (b *bench) clientTLS() *tls.Config {
	if b.cfg.TLS {
		return insecureTLS()
	}
	return nil
}

// startTarget starts a target (nothing for direct) and waits until it
// answers. The returned proc is nil for direct.
func (b *bench) startTarget(ctx context.Context, t targets.Target, tag string) (*proc, error) {
	l := b.launch[t.Name]
	if l == nil {
		return nil, nil
	}
	p, err := b.procs.start(t.Name, l.Args, l.Env, filepath.Join(b.cfg.Out, "logs", t.Name+tag+".log"))
	if err != nil {
		return nil, err
	}
	if err := waitReady(ctx, p, b.base(t), 20*time.Second); err != nil {
		b.procs.stop(p)
		return nil, fmt.Errorf("%s (%s): %w", t.Name, strings.Join(l.Args, " "), err)
	}
	return p, nil
}

func (b *bench) loadPhase(ctx context.Context) error {
	f, err := os.Create(filepath.Join(b.cfg.Out, "runs.tsv"))
	if err != nil {
		return err
	}
	defer f.Close()
	fmt.Fprintln(f, results.TSVHeader)
	b.runsTSV = f

	running := map[string]*proc{}
	for _, t := range b.targets {
		p, err := b.startTarget(ctx, t, "")
		if err != nil {
			return err
		}
		running[t.Name] = p
		if err := verify(b.base(t)); err != nil {
			return fmt.Errorf("%s failed verification: %w", t.Name, err)
		}
	}
	b.log.Info("all targets verified (GET /small /page /big sizes, POST /echo 100 KB)")

	if b.cfg.Warmup > 0 {
		b.log.Info("warm-up", "per run", b.cfg.Warmup)
		for _, path := range b.cfg.Paths {
			for _, t := range b.targets {
				if err := b.measure(ctx, t, running[t.Name], path, 0, true); err != nil {
					return err
				}
			}
		}
	}
	for r := 1; r <= b.cfg.Rounds; r++ {
		b.log.Info("round", "n", r, "of", b.cfg.Rounds)
		if err := b.round(ctx, r, running, nil); err != nil {
			return err
		}
	}
	for k := 1; k <= b.cfg.ExtraRounds; k++ {
		need := results.NeedMore(b.runs, b.cfg.NoisePct, b.cfg.Rounds)
		if len(need) == 0 {
			break
		}
		b.log.Info("extra round for disturbed cells", "n", b.cfg.Rounds+k, "cells", len(need))
		if err := b.round(ctx, b.cfg.Rounds+k, running, need); err != nil {
			return err
		}
	}
	for _, t := range b.targets {
		if p := running[t.Name]; p != nil {
			hwm := b.proc.Status(b.proc.Tree(p.pid()), "VmHWM")
			m := b.memoryOf(t.Name)
			m.PeakKB, m.LargestKB, m.Procs = hwm.SumKB, hwm.LargestKB, hwm.Procs
			b.procs.stop(p)
		}
	}
	return nil
}

func (b *bench) memoryOf(name string) *results.Memory {
	m := b.memory[name]
	if m == nil {
		m = &results.Memory{}
		b.memory[name] = m
	}
	return m
}

// round runs every path for every target, in that order, so that the runs
// of one path on different targets are close in time; only is a filter
// (nil: all cells).
func (b *bench) round(ctx context.Context, n int, running map[string]*proc, only map[results.Key]bool) error {
	for _, path := range b.cfg.Paths {
		for _, t := range b.targets {
			if only != nil && !only[results.Key{Target: t.Name, Path: path}] {
				continue
			}
			if err := b.measure(ctx, t, running[t.Name], path, n, false); err != nil {
				return err
			}
		}
	}
	return nil
}

// waitQuiet waits until processes outside the benchmark use at most
// QuietPct of the machine (everything of ours is idle between runs), for
// at most QuietWait, and returns the last share seen.
func (b *bench) waitQuiet(ctx context.Context) float64 {
	deadline := time.Now().Add(b.cfg.QuietWait)
	for {
		c0, err0 := b.proc.MachineCPU()
		select {
		case <-ctx.Done():
			return 0
		case <-time.After(500 * time.Millisecond):
		}
		c1, err1 := b.proc.MachineCPU()
		if err0 != nil || err1 != nil {
			return 0
		}
		d := c1.Sub(c0)
		pct := 100 * float64(d.Busy()) / float64(max(1, d.Total()))
		if pct <= b.cfg.QuietPct || !time.Now().Before(deadline) {
			return pct
		}
	}
}

func (b *bench) backendStats() (backend.Stats, error) {
	resp, err := oneShot(5 * time.Second).Get("http://" + b.env.BackendAddr + "/__stats")
	if err != nil {
		return backend.Stats{}, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return backend.Stats{}, err
	}
	return backend.ParseStats(string(body))
}

// measure runs wrk once against t on path and records the run.
func (b *bench) measure(ctx context.Context, t targets.Target, p *proc, path string, round int, warm bool) error {
	dur := b.cfg.Duration
	if warm {
		dur = b.cfg.Warmup
	}
	pre := b.waitQuiet(ctx)
	if err := ctx.Err(); err != nil {
		return err
	}
	if p != nil && p.exited() {
		return fmt.Errorf("%s exited during the load phase (%v); its output:\n%s", t.Name, p.err, p.tail())
	}
	treeCPU := func(pr *proc) time.Duration {
		if pr == nil {
			return 0
		}
		return b.proc.CPU(b.proc.Tree(pr.pid()))
	}
	st0, err := b.backendStats()
	if err != nil {
		return fmt.Errorf("backend stats: %w", err)
	}
	px0, bk0 := treeCPU(p), treeCPU(b.backend)
	m0, err := b.proc.MachineCPU()
	if err != nil {
		return err
	}

	out, wrkCPU, err := b.wrk(ctx, t, path, dur)
	if err != nil {
		return err
	}

	m1, _ := b.proc.MachineCPU()
	px1, bk1 := treeCPU(p), treeCPU(b.backend)
	st1, err := b.backendStats()
	if err != nil {
		return fmt.Errorf("backend stats: %w", err)
	}
	phase := "r" + strconv.Itoa(round)
	if warm {
		phase = "warm"
	}
	raw := filepath.Join(b.cfg.Out, "raw", fmt.Sprintf("%s-%s-%s.txt", phase, t.Name, strings.TrimPrefix(path, "/")))
	_ = os.WriteFile(raw, out, 0o644)
	res, err := wrkparse.Parse(string(out))
	if err != nil {
		return fmt.Errorf("%s %s: %w; wrk printed:\n%s", t.Name, path, err, out)
	}

	d := m1.Sub(m0)
	total := float64(max(1, d.Total()))
	ours := float64(px1-px0+bk1-bk0+wrkCPU) / float64(procfs.ClockTick)
	run := results.Run{
		Warmup: warm, Round: round, Path: path, Target: t.Name, Wrk: res,
		ProxyCPU: px1 - px0, BackendCPU: bk1 - bk0, WrkCPU: wrkCPU,
		OutsidePct: max(0, float64(d.Busy())-ours) * 100 / total,
		StealPct:   float64(d.Steal) * 100 / total,
		// The second /__stats query's own connection is in st1.
		NewUpstream: st1.UDSAccepted - st0.UDSAccepted + st1.TCPAccepted - st0.TCPAccepted - 1,
	}
	b.runs = append(b.runs, run)
	if b.runsTSV != nil {
		fmt.Fprintln(b.runsTSV, run.TSV())
	}
	b.log.Info(fmt.Sprintf("%-4s %-6s %-15s %9.0f req/s  p50 %7.2f ms  p99 %7.2f ms  errors %d  outside-cpu %4.1f%% (before %.0f%%)",
		phase, path, t.Name, res.RPS, float64(res.P50)/1e6, float64(res.P99)/1e6,
		res.SocketErrors()+res.Non2xx, run.OutsidePct, pre))
	return nil
}

// wrk runs one wrk under timeout(1) and returns its output and CPU time.
func (b *bench) wrk(ctx context.Context, t targets.Target, path string, dur time.Duration) ([]byte, time.Duration, error) {
	secs := int(dur / time.Second)
	args := []string{"-k", "5", strconv.Itoa(secs + 30), b.cfg.Wrk,
		"-t" + strconv.Itoa(b.cfg.Threads), "-c" + strconv.Itoa(b.cfg.Conns), "-d" + strconv.Itoa(secs) + "s",
		"--latency", "--timeout", "10s"}
	if path == "/echo" {
		args = append(args, "-s", filepath.Join(b.work, "post.lua"))
	}
	args = append(args, b.base(t)+path)
	cmd := exec.CommandContext(ctx, "timeout", args...)
	// timeout(1) passes SIGTERM on to wrk; a SIGKILL would orphan wrk.
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 10 * time.Second
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	if ctx.Err() != nil {
		return nil, 0, ctx.Err()
	}
	var cpu time.Duration
	if cmd.ProcessState != nil {
		// timeout waited for wrk, so its rusage includes wrk's.
		cpu = cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	}
	var exit *exec.ExitError
	if errors.As(err, &exit) && exit.ExitCode() == 124 {
		return nil, 0, fmt.Errorf("wrk against %s %s did not finish within %ds", t.Name, path, secs+30)
	}
	if err != nil && !bytes.Contains(out.Bytes(), []byte("Requests/sec:")) {
		return nil, 0, fmt.Errorf("wrk against %s %s: %v\n%s", t.Name, path, err, out.Bytes())
	}
	return out.Bytes(), cpu, nil
}
