package proxy

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// slowBackend answers every request after delay with "ok".
func slowBackend(t *testing.T, sock string, delay time.Duration) {
	t.Helper()
	ln, err := net.Listen("unix", sock)
	must(t, err)
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-time.After(delay):
		case <-r.Context().Done():
		}
		io.WriteString(w, "ok gen="+r.Header.Get("X-Gen"))
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
}

// runProxy runs Run on the config text in dir with a signal channel, as
// the CLI does, and returns the channel and Run's result.
func runProxy(t *testing.T, dir, conf string) (chan os.Signal, <-chan error, *bytes.Buffer) {
	t.Helper()
	path := filepath.Join(dir, "proxy.conf")
	must(t, os.WriteFile(path, []byte(conf), 0o644))
	sigs := make(chan os.Signal, 1)
	done := make(chan error, 1)
	var stderr bytes.Buffer
	go func() {
		done <- Run(context.Background(), Options{ConfFile: path, Name: "wisp", Token: "wisp", Stderr: &syncWriter{w: &stderr},
			Stdout: io.Discard, Signals: sigs})
	}()
	return sigs, done, &stderr
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for i := 0; i < 1000; i++ {
		if cond() {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s", what)
}

func signalConf(dir, sock string, port int, gen string) string {
	return fmt.Sprintf("pid %s/wisp.pid;\nevents {}\nhttp {\n server {\n  listen 127.0.0.1:%d;\n  keepalive_requests 1000000;\n"+
		"  location / { proxy_set_header X-Gen %s; proxy_pass http://unix:%s; }\n }\n}\n", dir, port, gen, sock)
}

// TestQuitFinishesInFlightRequestsAndTermDoesNot: QUIT is nginx's graceful
// stop (the request in flight is answered), TERM its fast one (the
// connection is dropped at once).
func TestQuitFinishesInFlightRequestsAndTermDoesNot(t *testing.T) {
	for _, tc := range []struct {
		sig    os.Signal
		answer bool
	}{{syscall.SIGQUIT, true}, {syscall.SIGTERM, false}, {syscall.SIGINT, false}} {
		t.Run(tc.sig.String(), func(t *testing.T) {
			dir := t.TempDir()
			sock := filepath.Join(dir, "slow.sock")
			slowBackend(t, sock, 500*time.Millisecond)
			port := freePort(t)
			sigs, done, _ := runProxy(t, dir, signalConf(dir, sock, port, "1"))
			waitUntil(t, "the pid file", func() bool { _, err := os.Stat(filepath.Join(dir, "wisp.pid")); return err == nil })
			c, err := net.Dial("tcp", fmt.Sprint("127.0.0.1:", port))
			must(t, err)
			defer c.Close()
			c.SetDeadline(time.Now().Add(10 * time.Second))
			io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
			time.Sleep(100 * time.Millisecond) // the request reaches the backend
			sigs <- tc.sig
			resp, err := http.ReadResponse(bufio.NewReader(c), nil)
			if tc.answer {
				if err != nil {
					t.Fatalf("in-flight request after %v: %v", tc.sig, err)
				}
				b, _ := io.ReadAll(resp.Body)
				if resp.StatusCode != 200 || string(b) != "ok gen=1" || !resp.Close {
					t.Errorf("got %d %q close=%v, want 200 \"ok gen=1\" with Connection: close", resp.StatusCode, b, resp.Close)
				}
			} else if err == nil {
				t.Errorf("in-flight request answered %d after %v, want the connection dropped", resp.StatusCode, tc.sig)
			}
			select {
			case err := <-done:
				must(t, err)
			case <-time.After(10 * time.Second):
				t.Fatal("Run did not return")
			}
			if _, err := os.Stat(filepath.Join(dir, "wisp.pid")); !os.IsNotExist(err) {
				t.Errorf("pid file left: %v", err)
			}
		})
	}
}

// TestReloadsUnderLoadInProcess runs many HUPs while keep-alive clients
// send requests, under the race detector: no request fails, no connection
// is closed, and the generations follow the reloads.
func TestReloadsUnderLoadInProcess(t *testing.T) {
	dir := t.TempDir()
	sock := filepath.Join(dir, "app.sock")
	slowBackend(t, sock, 0)
	port := freePort(t)
	sigs, done, stderr := runProxy(t, dir, signalConf(dir, sock, port, "0"))
	waitUntil(t, "the pid file", func() bool { _, err := os.Stat(filepath.Join(dir, "wisp.pid")); return err == nil })

	var ok, failed, closed atomic.Int64
	var mu sync.Mutex
	seen := map[string]bool{}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := net.Dial("tcp", fmt.Sprint("127.0.0.1:", port))
			if err != nil {
				failed.Add(1)
				return
			}
			defer c.Close()
			br := bufio.NewReader(c)
			for ctx.Err() == nil {
				c.SetDeadline(time.Now().Add(10 * time.Second))
				if _, err := io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
					failed.Add(1)
					return
				}
				resp, err := http.ReadResponse(br, nil)
				if err != nil {
					failed.Add(1)
					return
				}
				b, err := io.ReadAll(resp.Body)
				if err != nil || resp.StatusCode != 200 {
					failed.Add(1)
					return
				}
				ok.Add(1)
				mu.Lock()
				seen[string(b)] = true
				mu.Unlock()
				if resp.Close {
					closed.Add(1)
					return
				}
			}
		}()
	}
	for gen := 1; gen <= 20; gen++ {
		must(t, os.WriteFile(filepath.Join(dir, "proxy.conf"), []byte(signalConf(dir, sock, port, fmt.Sprint(gen))), 0o644))
		sigs <- syscall.SIGHUP
		want := fmt.Sprint("ok gen=", gen)
		waitUntil(t, want, func() bool { mu.Lock(); defer mu.Unlock(); return seen[want] })
	}
	cancel()
	wg.Wait()
	sigs <- syscall.SIGQUIT
	must(t, <-done)
	if failed.Load() != 0 || closed.Load() != 0 {
		t.Errorf("%d requests failed and %d connections were closed out of %d requests", failed.Load(), closed.Load(), ok.Load())
	}
	if strings.Contains(stderr.String(), "[emerg]") {
		t.Errorf("error log: %s", stderr.String())
	}
}

// TestReloadKeepsPeerStateOfUnchangedUpstreams: a peer that failed stays
// out for its fail_timeout across a reload that leaves its upstream block
// as it was, and gets its fresh chance when the block changes. The failing
// peer accepts and closes at once, so every request it gets is counted.
func TestReloadKeepsPeerStateOfUnchangedUpstreams(t *testing.T) {
	dir := t.TempDir()
	bad, good := filepath.Join(dir, "bad.sock"), filepath.Join(dir, "good.sock")
	var badHits atomic.Int64
	var closer connServer
	closer.serveConns(listenUnix0666(t, bad), func(c net.Conn) { badHits.Add(1) })
	t.Cleanup(closer.stop)
	slowBackend(t, good, 0)
	port := freePort(t)
	conf := func(gen, goodParams string) string {
		return fmt.Sprintf("pid %s/wisp.pid;\nevents {}\nhttp {\n upstream app { server unix:%s max_fails=1 fail_timeout=60s; server unix:%s%s; }\n"+
			" server {\n  listen 127.0.0.1:%d;\n  location / { proxy_set_header X-Gen %s; proxy_pass http://app; }\n }\n}\n", dir, bad, good, goodParams, port, gen)
	}
	sigs, done, stderr := runProxy(t, dir, conf("1", ""))
	waitUntil(t, "the pid file", func() bool { _, err := os.Stat(filepath.Join(dir, "wisp.pid")); return err == nil })
	get := func() string {
		t.Helper()
		r := exchange(t, fmt.Sprint("127.0.0.1:", port), "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
		if r.status != 200 {
			t.Fatalf("status %d: %s", r.status, r.body)
		}
		return r.body
	}
	reload := func(gen, goodParams string) {
		t.Helper()
		must(t, os.WriteFile(filepath.Join(dir, "proxy.conf"), []byte(conf(gen, goodParams)), 0o644))
		sigs <- syscall.SIGHUP
		waitUntil(t, "gen "+gen, func() bool { return get() == "ok gen="+gen })
	}
	for range 4 {
		get()
	}
	if n := badHits.Load(); n != 1 {
		t.Fatalf("the failing peer got %d requests before the reload, want 1 (then out for fail_timeout)", n)
	}
	reload("2", "")
	for range 4 {
		get()
	}
	if n := badHits.Load(); n != 1 {
		t.Errorf("after a reload that kept the upstream block, the failed peer got %d requests in all, want still 1", n)
	}
	reload("3", " weight=2")
	for range 6 {
		get()
	}
	if n := badHits.Load(); n != 2 {
		t.Errorf("after a reload that changed the upstream block, the failed peer got %d requests in all, want 2 (one fresh try)", n)
	}
	sigs <- syscall.SIGQUIT
	must(t, <-done)
	if strings.Contains(stderr.String(), "[emerg]") {
		t.Errorf("error log: %s", stderr.String())
	}
}
