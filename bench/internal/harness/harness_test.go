package harness

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"

	"wisp/bench/internal/backend"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func goodConfig() Config {
	return Config{Duration: 10 * time.Second, Warmup: 2 * time.Second, Conns: 64, Threads: 1, Rounds: 3,
		Paths: []string{"/small", "/page", "/big"}, BasePort: 18280, IdleConns: 2000, IdleReps: 3}
}

func TestConfigValidate(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(*Config)
		want   string
	}{
		{"defaults are fine", func(c *Config) {}, ""},
		{"echo is a path", func(c *Config) { c.Paths = append(c.Paths, "/echo") }, ""},
		{"sub-second duration", func(c *Config) { c.Duration = 1500 * time.Millisecond }, "whole seconds"},
		{"zero duration", func(c *Config) { c.Duration = 0 }, "whole seconds"},
		{"more threads than connections", func(c *Config) { c.Threads = 65 }, "-t 65"},
		{"no rounds", func(c *Config) { c.Rounds = 0 }, "-rounds"},
		{"unknown path", func(c *Config) { c.Paths = []string{"/admin"} }, `unknown path "/admin"`},
		{"no paths", func(c *Config) { c.Paths = nil }, "-paths"},
		{"privileged port", func(c *Config) { c.BasePort = 80 }, "-base-port"},
		{"nothing to do", func(c *Config) { c.SkipIdle, c.SkipLoad = true, true }, "nothing to do"},
		{"no idle connections", func(c *Config) { c.IdleConns = 0 }, "-idle-conns"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := goodConfig()
			tc.change(&c)
			err := c.validate()
			if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
				t.Fatalf("validate: %v, want %q", err, tc.want)
			}
		})
	}
}

func TestStopEndsTheWholeProcessGroup(t *testing.T) {
	dir := t.TempDir()
	pidFile := filepath.Join(dir, "child.pid")
	var ps procs
	// The shell starts a child that would outlive a plain kill of the shell,
	// as nginx's workers would outlive their master.
	p, err := ps.start("tree", []string{"/bin/sh", "-c", "sleep 300 & echo $! > " + pidFile + "; wait"}, nil, filepath.Join(dir, "log"))
	if err != nil {
		t.Fatal(err)
	}
	var child int
	for i := 0; i < 200 && child == 0; i++ {
		b, _ := os.ReadFile(pidFile)
		child, _ = strconv.Atoi(strings.TrimSpace(string(b)))
		time.Sleep(10 * time.Millisecond)
	}
	if child == 0 {
		t.Fatal("child never started")
	}
	ps.stopAll()
	if !p.exited() {
		t.Fatal("shell still running after stopAll")
	}
	// The child is gone, or at most a zombie waiting for init. A signalled
	// process can still show as running for a moment while the kernel
	// tears it down, so look again for a bounded while before failing.
	var last []byte
	for i := 0; i < 200; i++ {
		b, err := os.ReadFile("/proc/" + strconv.Itoa(child) + "/stat")
		if err != nil || strings.Contains(string(b), ") Z") {
			return
		}
		last = b
		time.Sleep(10 * time.Millisecond)
	}
	_ = syscall.Kill(child, syscall.SIGKILL)
	t.Fatalf("child %d survived: %s", child, last)
}

func TestWaitReadyReportsAnEarlyExitWithItsOutput(t *testing.T) {
	dir := t.TempDir()
	var ps procs
	defer ps.stopAll()
	p, err := ps.start("bad", []string{"/bin/sh", "-c", "echo 'emerg: bad config' >&2; exit 1"}, nil, filepath.Join(dir, "log"))
	if err != nil {
		t.Fatal(err)
	}
	err = waitReady(context.Background(), p, "http://127.0.0.1:1", 10*time.Second)
	if err == nil || !strings.Contains(err.Error(), "emerg: bad config") {
		t.Fatalf("waitReady: %v, want the process's output", err)
	}
}

func TestVerify(t *testing.T) {
	good := backend.New(slog.New(slog.NewTextHandler(io.Discard, nil))).Handler()
	for _, tc := range []struct {
		name    string
		handler http.Handler
		want    string
	}{
		{"the backend itself passes", good, ""},
		{"a truncated big body fails", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/big" {
				w.Write(make([]byte, 1000))
				return
			}
			good.ServeHTTP(w, r)
		}), "GET /big"},
		{"a mangled echo fails", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/echo" {
				io.WriteString(w, "nope")
				return
			}
			good.ServeHTTP(w, r)
		}), "POST /echo"},
		{"an error status fails", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusBadGateway)
		}), "status 502"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(tc.handler)
			defer srv.Close()
			err := verify(srv.URL)
			if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
				t.Fatalf("verify: %v, want %q", err, tc.want)
			}
		})
	}
}
