package proxy

// Acceptance tests of failover with real processes: each upstream is a
// child process (this test binary re-run as a Ghost-style HTTP server on
// a unix socket) that the tests kill, stop and start again while a small
// client loop keeps a steady load on the proxy.

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

const (
	envBackendSock = "WISP_FAILOVER_SOCK"
	envBackendName = "WISP_FAILOVER_NAME"
)

// TestHelperBackendProcess is not a test of its own: run as a child with
// WISP_FAILOVER_SOCK set, it serves HTTP on that unix socket, answering
// every request with its name, until SIGTERM (graceful: in-flight requests
// finish, the socket file goes) or SIGKILL (a crash: the file stays).
func TestHelperBackendProcess(t *testing.T) {
	path, name := os.Getenv(envBackendSock), os.Getenv(envBackendName)
	if path == "" {
		return
	}
	os.Remove(path)
	ln, err := net.Listen("unix", path)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		io.WriteString(w, name)
	})}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM)
	go func() {
		<-sig
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	}()
	srv.Serve(ln)
	os.Exit(0)
}

// backendProc is one running backend process.
type backendProc struct {
	name, sock string
	cmd        *exec.Cmd
	done       chan struct{}
}

func startBackendProc(t *testing.T, sock, name string) *backendProc {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperBackendProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), envBackendSock+"="+sock, envBackendName+"="+name)
	cmd.Stderr = os.Stderr
	must(t, cmd.Start())
	b := &backendProc{name: name, sock: sock, cmd: cmd, done: make(chan struct{})}
	go func() { cmd.Wait(); close(b.done) }()
	t.Cleanup(func() { b.kill() })
	for i := 0; i < 500; i++ {
		if c, err := net.Dial("unix", sock); err == nil {
			c.Close()
			return b
		}
		select {
		case <-b.done:
			t.Fatalf("backend %s exited before listening", name)
		case <-time.After(10 * time.Millisecond):
		}
	}
	t.Fatalf("backend %s never listened on %s", name, sock)
	return nil
}

// kill crashes the process (SIGKILL) and waits for it.
func (b *backendProc) kill() {
	b.cmd.Process.Kill()
	<-b.done
}

// stop ends it gracefully (SIGTERM) and waits for it.
func (b *backendProc) stop() {
	b.cmd.Process.Signal(syscall.SIGTERM)
	<-b.done
}

// outcome is one request of the load loop.
type outcome struct {
	start, end time.Time
	peer       string // the body: which backend answered
	err        string // "" on a 200
}

// loadLoop keeps workers sending GETs, each on its own keep-alive
// connection, until stopped; every request is recorded. The loop is raw
// rather than net/http's client, which silently re-sends a GET that failed
// on a reused connection and so would hide a reset.
type loadLoop struct {
	mu      sync.Mutex
	results []outcome
	stopped chan struct{}
	wg      sync.WaitGroup
}

func startLoad(t *testing.T, addr string, workers int) *loadLoop {
	t.Helper()
	l := &loadLoop{stopped: make(chan struct{})}
	for w := 0; w < workers; w++ {
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			var c net.Conn
			var br *bufio.Reader
			defer func() {
				if c != nil {
					c.Close()
				}
			}()
			// Bounded: the test stops the loop long before this many.
			for i := 0; i < 100000; i++ {
				select {
				case <-l.stopped:
					return
				default:
				}
				o := outcome{start: time.Now()}
				var err error
				if c == nil {
					if c, err = net.DialTimeout("tcp", addr, 5*time.Second); err == nil {
						br = bufio.NewReader(c)
					} else {
						c = nil
					}
				}
				// reuse: the connection is fit for the next request.
				reuse := false
				if err == nil {
					c.SetDeadline(time.Now().Add(10 * time.Second))
					var resp *http.Response
					if _, err = io.WriteString(c, "GET /load HTTP/1.1\r\nHost: x\r\n\r\n"); err == nil {
						resp, err = http.ReadResponse(br, nil)
					}
					if err == nil {
						var body []byte
						body, err = io.ReadAll(resp.Body)
						resp.Body.Close()
						o.peer = string(body)
						reuse = err == nil && !resp.Close
						if err == nil && resp.StatusCode != 200 {
							err = errors.New(resp.Status)
						}
					}
				}
				o.end = time.Now()
				if err != nil {
					o.err = err.Error()
				}
				if c != nil && !reuse {
					c.Close()
					c = nil
				}
				l.mu.Lock()
				l.results = append(l.results, o)
				l.mu.Unlock()
			}
		}()
	}
	t.Cleanup(l.stop)
	return l
}

func (l *loadLoop) stop() {
	select {
	case <-l.stopped:
	default:
		close(l.stopped)
	}
	l.wg.Wait()
}

// waitFor polls until cond holds over the results so far (bounded).
func (l *loadLoop) waitFor(t *testing.T, what string, cond func([]outcome) bool) {
	t.Helper()
	for i := 0; i < 3000; i++ {
		l.mu.Lock()
		ok := cond(l.results)
		l.mu.Unlock()
		if ok {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s", what)
}

// count returns how many results after since match.
func count(rs []outcome, since time.Time, match func(outcome) bool) int {
	n := 0
	for _, o := range rs {
		if !o.start.Before(since) && match(o) {
			n++
		}
	}
	return n
}

func okFrom(peer string) func(outcome) bool {
	return func(o outcome) bool { return o.err == "" && (peer == "" || o.peer == peer) }
}

func failed(o outcome) bool { return o.err != "" }

func TestKillingOneOfTwoPeersDuringLoadLosesNoGET(t *testing.T) {
	dir := t.TempDir()
	a := startBackendProc(t, filepath.Join(dir, "a.sock"), "a")
	startBackendProc(t, filepath.Join(dir, "b.sock"), "b")
	addr, _ := startWisp(t, dir, `
upstream app { server unix:`+a.sock+`; server unix:`+dir+`/b.sock; }
server { listen LISTEN; location / { proxy_pass http://app; } }
`)
	load := startLoad(t, addr, 4)
	t0 := time.Now()
	load.waitFor(t, "both peers to serve", func(rs []outcome) bool {
		return count(rs, t0, okFrom("a")) >= 20 && count(rs, t0, okFrom("b")) >= 20
	})
	a.kill()
	killed := time.Now()
	load.waitFor(t, "300 requests after the kill", func(rs []outcome) bool {
		return count(rs, killed, okFrom("")) >= 300
	})
	load.stop()
	for _, o := range load.results {
		if o.err != "" {
			t.Errorf("request at +%v failed: %s", o.start.Sub(t0), o.err)
		}
	}
	if n := count(load.results, killed, okFrom("a")); n != 0 {
		t.Errorf("%d requests started after the kill were answered by the dead peer", n)
	}
}

func TestRestartedPeerFailsOnlyInTheGapAndIsBackWithinFailTimeout(t *testing.T) {
	const failTimeout = 2 * time.Second
	tests := []struct {
		name     string
		upstream string // %s: the primary's socket, %s: the backup's
		backup   bool
	}{
		// The seed's single-server group: every request tries the peer,
		// so only requests in the gap fail and it is back at once.
		{name: "single server", upstream: "server unix:%s fail_timeout=0;"},
		{name: "with a backup", upstream: "server unix:%s fail_timeout=2s; server unix:%s backup;", backup: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			sockA, sockB := filepath.Join(dir, "a.sock"), filepath.Join(dir, "b.sock")
			a := startBackendProc(t, sockA, "a")
			up := fmt.Sprintf(tc.upstream, sockA)
			if tc.backup {
				startBackendProc(t, sockB, "b")
				up = fmt.Sprintf(tc.upstream, sockA, sockB)
			}
			addr, _ := startWisp(t, dir, "upstream app { "+up+" }\nserver { listen LISTEN; location / { proxy_pass http://app; } }\n")
			load := startLoad(t, addr, 3)
			t0 := time.Now()
			load.waitFor(t, "the primary to serve", func(rs []outcome) bool { return count(rs, t0, okFrom("a")) >= 30 })

			gapStart := time.Now()
			a.stop()
			// Let the gap be seen: requests fail, or go to the backup.
			load.waitFor(t, "requests during the gap", func(rs []outcome) bool {
				if tc.backup {
					return count(rs, gapStart, okFrom("b")) >= 30
				}
				return count(rs, gapStart, failed) >= 10
			})
			startBackendProc(t, sockA, "a")
			gapEnd := time.Now()
			load.waitFor(t, "the primary to come back", func(rs []outcome) bool { return count(rs, gapEnd, okFrom("a")) >= 30 })
			load.stop()

			var back time.Time
			for _, o := range load.results {
				if o.err != "" && (o.end.Before(gapStart) || o.start.After(gapEnd)) {
					t.Errorf("a request outside the gap failed (+%v): %s", o.start.Sub(t0), o.err)
				}
				if o.err != "" && tc.backup {
					t.Errorf("with a backup a request failed (+%v): %s", o.start.Sub(t0), o.err)
				}
				if o.err == "" && o.peer == "a" && o.start.After(gapEnd) && (back.IsZero() || o.end.Before(back)) {
					back = o.end
				}
			}
			// nginx counts in whole seconds: the window ends up to a
			// second after fail_timeout; one more second for a loaded
			// machine.
			if limit := failTimeout + 2*time.Second; back.Sub(gapEnd) > limit {
				t.Errorf("the restarted peer came back after %v, want within %v", back.Sub(gapEnd), limit)
			}
			if !tc.backup && count(load.results, gapStart, failed) == 0 {
				t.Error("no request failed in the gap of a single-server group (the test saw no gap)")
			}
		})
	}
}

func TestWeightedSequenceThroughProcessesMatchesNginx(t *testing.T) {
	dir := t.TempDir()
	var servers []string
	for i, w := range []int{3, 2, 1} {
		name := string(rune('a' + i))
		sock := filepath.Join(dir, name+".sock")
		startBackendProc(t, sock, name)
		servers = append(servers, fmt.Sprintf("server unix:%s weight=%d;", sock, w))
	}
	site := "upstream app { " + strings.Join(servers, " ") + " }\nserver { listen LISTEN; location / { proxy_pass http://app; } }\n"
	nginxAddr := startNginx(t, dir, site)
	wispAddr, _ := startWisp(t, dir, site)
	sequence := func(addr string) string {
		var b strings.Builder
		for i := 0; i < 18; i++ {
			b.WriteString(exchange(t, addr, getWith("/", "")).body)
		}
		return b.String()
	}
	// Smooth weighted round robin over 3,2,1: a b a c b a, repeated.
	const want = "abacbaabacbaabacba"
	if n, w := sequence(nginxAddr), sequence(wispAddr); n != w || w != want {
		t.Errorf("weights 3,2,1: nginx %s, wisp %s, want %s", n, w, want)
	}
}
