package e2e

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// genBackend answers on a Unix socket with the X-Gen header the proxy sent,
// so a client sees which config served each request.
func genBackend(t testing.TB, sock string) {
	t.Helper()
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			// Long enough that a reload finds requests in flight.
			time.Sleep(100 * time.Millisecond)
		}
		io.WriteString(w, "gen="+r.Header.Get("X-Gen"))
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
}

// reloadConf is a proxy config whose generation shows in X-Gen.
func reloadConf(dir, sock string, port, gen int) string {
	return fmt.Sprintf(`pid %s/wisp.pid;
error_log %s/error.log;
events {}
http {
    access_log %s/access.log;
    upstream app { server unix:%s; keepalive 8; }
    server {
        listen 127.0.0.1:%d;
        keepalive_requests 1000000;
        location / {
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header X-Gen %d;
            proxy_pass http://app;
        }
    }
}
`, dir, dir, dir, sock, port, gen)
}

// loadClient sends GETs on its own keep-alive connection until stop, and
// counts every request that did not get a complete 200: a refused or reset
// connection, a short response or another status. It reconnects only when
// a response said Connection: close. With fresh set, every request is a
// GET /slow on a new connection with Connection: close, so that a reload
// meets connections being accepted and requests in flight. Every request
// is kept in history, with what served it: servedBy's name for the body,
// or the body itself (the reload test's backend names the config there).
type loadClient struct {
	addr           string
	host           string // "reload.test" when empty
	fresh          bool
	servedBy       func(body []byte) string
	ok, failed     atomic.Int64
	mu             sync.Mutex
	firstErr       error
	gens           map[string]int
	history        []outcome
	reconnects     atomic.Int64
	closedByServer atomic.Int64
}

// outcome is one request of a loadClient; err is "" for a complete 200.
type outcome struct {
	start, end time.Time
	servedBy   string
	err        string
}

func (lc *loadClient) record(o outcome, err error) {
	o.end = time.Now()
	lc.mu.Lock()
	defer lc.mu.Unlock()
	if err != nil {
		lc.failed.Add(1)
		if lc.firstErr == nil {
			lc.firstErr = err
		}
		o.err = err.Error()
	} else {
		lc.ok.Add(1)
		lc.gens[o.servedBy]++
	}
	lc.history = append(lc.history, o)
}

func (lc *loadClient) run(ctx context.Context) {
	var c net.Conn
	var br *bufio.Reader
	defer func() {
		if c != nil {
			c.Close()
		}
	}()
	host := lc.host
	if host == "" {
		host = "reload.test"
	}
	for ctx.Err() == nil {
		o := outcome{start: time.Now()}
		if c == nil {
			var err error
			c, err = net.DialTimeout("tcp", lc.addr, 5*time.Second)
			if err != nil {
				c = nil
				lc.record(o, err)
				time.Sleep(5 * time.Millisecond)
				continue
			}
			br = bufio.NewReader(c)
			lc.reconnects.Add(1)
		}
		c.SetDeadline(time.Now().Add(10 * time.Second))
		req := "GET / HTTP/1.1\r\nHost: " + host + "\r\n\r\n"
		if lc.fresh {
			req = "GET /slow HTTP/1.1\r\nHost: " + host + "\r\nConnection: close\r\n\r\n"
		}
		if _, err := io.WriteString(c, req); err != nil {
			lc.record(o, err)
			c.Close()
			c = nil
			continue
		}
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			lc.record(o, err)
			c.Close()
			c = nil
			continue
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if o.servedBy = string(body); lc.servedBy != nil {
			o.servedBy = lc.servedBy(body)
		}
		if err != nil || resp.StatusCode != 200 {
			lc.record(o, fmt.Errorf("status %d, body %.80q, err %v", resp.StatusCode, body, err))
		} else {
			lc.record(o, nil)
		}
		if err != nil || resp.Close {
			if err == nil && !lc.fresh {
				lc.closedByServer.Add(1)
			}
			c.Close()
			c = nil
		}
	}
}

// TestReloadUnderLoadFailsNoRequest is issue 4's acceptance check: ten
// "wisp proxy -s reload" during a steady keep-alive load, and not one
// request fails or is reset (nginx: 80-90 read errors, anchors.md). Every
// reload must also take effect.
func TestReloadUnderLoadFailsNoRequest(t *testing.T) {
	dir := shortDir(t)
	sock := filepath.Join(dir, "app.sock")
	genBackend(t, sock)
	port := freePort(t)
	conf := filepath.Join(dir, "proxy.conf")
	write := func(gen int) {
		t.Helper()
		if err := os.WriteFile(conf, []byte(reloadConf(dir, sock, port, gen)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(0)
	p := start(t, dir, nil, "proxy", "-c", conf)
	pidFile := filepath.Join(dir, "wisp.pid")
	waitFor(t, p, 10*time.Second, "the pid file", func() bool {
		b, err := os.ReadFile(pidFile)
		return err == nil && strings.TrimSpace(string(b)) == strconv.Itoa(p.cmd.Process.Pid)
	})

	lc := &loadClient{addr: "127.0.0.1:" + strconv.Itoa(port), gens: map[string]int{}}
	fresh := &loadClient{addr: lc.addr, fresh: true, gens: map[string]int{}}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() { defer wg.Done(); lc.run(ctx) }()
	}
	for range 4 {
		wg.Add(1)
		go func() { defer wg.Done(); fresh.run(ctx) }()
	}
	waitFor(t, p, 10*time.Second, "load to start", func() bool { return lc.ok.Load() > 100 && fresh.ok.Load() > 4 })
	for gen := 1; gen <= 10; gen++ {
		write(gen)
		if code, out := run(t, dir, nil, "", "proxy", "-c", conf, "-s", "reload"); code != 0 {
			t.Fatalf("-s reload: exit %d: %s", code, out)
		}
		want := "gen=" + strconv.Itoa(gen)
		waitFor(t, p, 10*time.Second, want, func() bool {
			lc.mu.Lock()
			defer lc.mu.Unlock()
			return lc.gens[want] > 20
		})
	}
	cancel()
	wg.Wait()
	if n := lc.failed.Load(); n != 0 {
		t.Errorf("%d of %d requests failed during 10 reloads; first: %v", n, n+lc.ok.Load(), lc.firstErr)
	}
	if n := fresh.failed.Load(); n != 0 {
		t.Errorf("%d of %d requests on new connections failed or were refused during 10 reloads; first: %v", n, n+fresh.ok.Load(), fresh.firstErr)
	}
	if n := lc.closedByServer.Load(); n != 0 {
		t.Errorf("%d keep-alive connections were closed by the reloads", n)
	}
	t.Logf("%d requests, %d connections, generations seen: %v", lc.ok.Load(), lc.reconnects.Load(), lc.gens)
	t.Logf("%d slow requests on new connections, generations seen: %v", fresh.ok.Load(), fresh.gens)

	// A broken config is refused, logged with nginx's wording, and the
	// old one keeps serving.
	if err := os.WriteFile(conf, []byte("events {}\nhttp { bogus; }\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	p.signal(syscall.SIGHUP)
	waitFor(t, p, 10*time.Second, "the reload error in the error log", func() bool {
		b, _ := os.ReadFile(filepath.Join(dir, "error.log"))
		return strings.Contains(string(b), `[emerg] `) && strings.Contains(string(b), `unknown directive "bogus" in `+conf+":2")
	})
	resp, err := http.Get("http://" + lc.addr + "/")
	if err != nil {
		t.Fatalf("after a bad reload: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != "gen=10" {
		t.Errorf("after a bad reload the proxy answered %q, want the last good config's gen=10", body)
	}
	// Every request is in the access log, whichever config served it.
	// The line of the last request is written after its response, so it
	// may land a moment after the client has read it.
	want := lc.ok.Load() + fresh.ok.Load() + 1
	var lines int64
	for i := 0; i < 200; i++ {
		logged, _ := os.ReadFile(filepath.Join(dir, "access.log"))
		if lines = int64(strings.Count(string(logged), "\n")); lines >= want {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if lines != want {
		t.Errorf("access log has %d lines for %d requests", lines, want)
	}

	// QUIT stops gracefully and removes the pid file.
	write(10)
	if code, out := run(t, dir, nil, "", "proxy", "-c", conf, "-s", "quit"); code != 0 {
		t.Fatalf("-s quit: exit %d: %s", code, out)
	}
	if code := p.wait(t, 15*time.Second); code != 0 {
		t.Errorf("exit code after QUIT: %d\n%s", code, p.out.String())
	}
	if _, err := os.Stat(pidFile); !os.IsNotExist(err) {
		t.Errorf("pid file left behind: %v", err)
	}
}

// TestSignalCommandErrorsMatchNginx checks -s against a missing, a
// garbage and a stale pid file, with nginx's wording and exit code.
func TestSignalCommandErrorsMatchNginx(t *testing.T) {
	dir := shortDir(t)
	pidFile := filepath.Join(dir, "wisp.pid")
	conf := filepath.Join(dir, "proxy.conf")
	if err := os.WriteFile(conf, []byte("pid "+pidFile+";\nevents {}\nhttp {}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, pid, sig, want string
	}{
		{"missing pid file", "", "reload", `[error] ` + `PID: open() "` + pidFile + `" failed (2: No such file or directory)`},
		{"garbage pid", "garbage\n", "reload", `[error] PID: invalid PID number "garbage" in "` + pidFile + `"`},
		{"empty pid", "\n", "quit", `[error] PID: invalid PID number "" in "` + pidFile + `"`},
		{"stale pid", "999999\n", "stop", `[alert] PID: kill(999999, 15) failed (3: No such process)`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			os.Remove(pidFile)
			if tc.pid != "" {
				if err := os.WriteFile(pidFile, []byte(tc.pid), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			code, out := run(t, dir, nil, "", "proxy", "-c", conf, "-s", tc.sig)
			if code != 1 {
				t.Errorf("exit code %d, want 1", code)
			}
			// The pid#tid part varies; compare the rest.
			got := ""
			for _, line := range strings.Split(out, "\n") {
				if i := strings.Index(line, "] "); i > 0 && !strings.Contains(line, "signal process started") {
					lvl := line[strings.Index(line, "[") : i+1]
					rest := line[i+2:]
					if j := strings.Index(rest, ": "); j > 0 {
						got = lvl + " PID: " + rest[j+2:]
					}
				}
			}
			if got != tc.want {
				t.Errorf("got %q\nwant %q\n(output %q)", got, tc.want, out)
			}
		})
	}
	code, out := run(t, dir, nil, "", "proxy", "-c", conf, "-s", "foo")
	if code != 1 || strings.TrimSpace(out) != `wisp: invalid option: "-s foo"` {
		t.Errorf("-s foo: exit %d, %q", code, out)
	}
	// A broken config sends nothing and says why.
	if err := os.WriteFile(conf, []byte("events {}\nhttp { bogus; }\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out = run(t, dir, nil, "", "proxy", "-c", conf, "-s", "reload")
	if code != 1 || !strings.Contains(out, `wisp: [emerg] unknown directive "bogus" in `+conf+":2") {
		t.Errorf("-s with a broken config: exit %d, %q", code, out)
	}
}

// TestTermStopsAtOnceAndReopenRotatesTheLog: USR1 (-s reopen, then a
// direct one) makes moved logs be written anew at their paths (logrotate),
// TERM stops the proxy at once.
func TestTermStopsAtOnceAndReopenRotatesTheLog(t *testing.T) {
	dir := shortDir(t)
	sock := filepath.Join(dir, "app.sock")
	genBackend(t, sock)
	port := freePort(t)
	conf := filepath.Join(dir, "proxy.conf")
	if err := os.WriteFile(conf, []byte(strings.Replace(reloadConf(dir, sock, port, 1),
		"error_log "+dir+"/error.log;", "error_log "+dir+"/error.log notice;", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	p := start(t, dir, nil, "proxy", "-c", conf)
	logPath := filepath.Join(dir, "error.log")
	waitFor(t, p, 10*time.Second, "the pid file", func() bool {
		_, err := os.Stat(filepath.Join(dir, "wisp.pid"))
		return err == nil
	})
	if err := os.Rename(logPath, logPath+".1"); err != nil {
		t.Fatal(err)
	}
	if code, out := run(t, dir, nil, "", "proxy", "-c", conf, "-s", "reopen"); code != 0 {
		t.Fatalf("-s reopen: exit %d: %s", code, out)
	}
	waitFor(t, p, 10*time.Second, "a new error log", func() bool {
		b, err := os.ReadFile(logPath)
		return err == nil && len(b) >= 0
	})
	// The second time by a direct USR1, as logrotate's postrotate sends it.
	accessPath := filepath.Join(dir, "access.log")
	if err := os.Rename(accessPath, accessPath+".1"); err != nil {
		t.Fatal(err)
	}
	p.signal(syscall.SIGUSR1)
	waitFor(t, p, 10*time.Second, "a new access log", func() bool {
		_, err := os.Stat(accessPath)
		return err == nil
	})
	resp, err := http.Get("http://127.0.0.1:" + strconv.Itoa(port) + "/after-reopen")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	// The line is written once the response is out, so it may land just
	// after the client has read it.
	waitFor(t, p, 5*time.Second, "the request in the reopened access log", func() bool {
		b, _ := os.ReadFile(accessPath)
		return strings.Contains(string(b), "GET /after-reopen HTTP/1.1")
	})
	old, _ := os.ReadFile(logPath + ".1")
	if !strings.Contains(string(old), "signal 10 (SIGUSR1) received, reopening logs") {
		t.Errorf("rotated log lacks the reopen notice:\n%s", old)
	}
	p.signal(syscall.SIGTERM)
	if code := p.wait(t, 5*time.Second); code != 0 {
		t.Errorf("exit code after TERM: %d", code)
	}
	b, _ := os.ReadFile(logPath)
	if !strings.Contains(string(b), "signal 15 (SIGTERM) received, exiting") {
		t.Errorf("the reopened log lacks the TERM notice:\n%s", b)
	}
}

// heldBackend answers every request on a Unix socket with "held", but only
// once release is closed; arrived gets a value as each request comes in.
func heldBackend(t *testing.T, sock string) (arrived chan struct{}, release chan struct{}) {
	t.Helper()
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	arrived, release = make(chan struct{}, 16), make(chan struct{})
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		arrived <- struct{}{}
		select {
		case <-release:
		case <-time.After(10 * time.Second):
		}
		io.WriteString(w, "held")
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return arrived, release
}

// TestStopSignalsEndARealProxyAsNginx: QUIT, sent directly or by
// "-s quit", stops accepting and lets the request in flight finish; TERM
// and INT, and "-s stop", drop it and exit at once. Either way the process
// exits 0, logs the signal and removes its pid file.
func TestStopSignalsEndARealProxyAsNginx(t *testing.T) {
	tests := []struct {
		name     string
		sig      syscall.Signal // sent directly, or
		command  string         // sent by wisp proxy -s
		graceful bool
		log      string
	}{
		{name: "SIGQUIT", sig: syscall.SIGQUIT, graceful: true, log: "signal 3 (SIGQUIT) received, shutting down"},
		{name: "-s quit", command: "quit", graceful: true, log: "signal 3 (SIGQUIT) received, shutting down"},
		{name: "SIGTERM", sig: syscall.SIGTERM, log: "signal 15 (SIGTERM) received, exiting"},
		{name: "-s stop", command: "stop", log: "signal 15 (SIGTERM) received, exiting"},
		{name: "SIGINT", sig: syscall.SIGINT, log: "signal 2 (SIGINT) received, exiting"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := shortDir(t)
			sock := filepath.Join(dir, "app.sock")
			arrived, release := heldBackend(t, sock)
			port := freePort(t)
			conf := filepath.Join(dir, "proxy.conf")
			writeFile(t, conf, strings.Replace(reloadConf(dir, sock, port, 1),
				"error_log "+dir+"/error.log;", "error_log "+dir+"/error.log notice;", 1))
			p := start(t, dir, nil, "proxy", "-c", conf)
			addr := "127.0.0.1:" + strconv.Itoa(port)
			pidFile := filepath.Join(dir, "wisp.pid")
			waitFor(t, p, 10*time.Second, "the pid file", func() bool { _, err := os.Stat(pidFile); return err == nil })

			c, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(10 * time.Second))
			io.WriteString(c, "GET /held HTTP/1.1\r\nHost: reload.test\r\n\r\n")
			select {
			case <-arrived:
			case <-time.After(10 * time.Second):
				t.Fatal("the request never reached the backend")
			}
			if tc.command != "" {
				if code, out := run(t, dir, nil, "", "proxy", "-c", conf, "-s", tc.command); code != 0 {
					t.Fatalf("-s %s: exit %d: %s", tc.command, code, out)
				}
			} else {
				p.signal(tc.sig)
			}
			if tc.graceful {
				// No new connection is taken while the old request runs.
				waitFor(t, p, 10*time.Second, "the listener to close", func() bool { return !dialable("tcp", addr) })
				close(release)
				resp, err := http.ReadResponse(bufio.NewReader(c), nil)
				if err != nil {
					t.Fatalf("the request in flight got no answer: %v", err)
				}
				body, err := io.ReadAll(resp.Body)
				if err != nil || resp.StatusCode != 200 || string(body) != "held" {
					t.Errorf("the request in flight got %d %q (%v), want 200 \"held\"", resp.StatusCode, body, err)
				}
			} else {
				// The process ends with the request still held.
				if code := p.wait(t, 5*time.Second); code != 0 {
					t.Errorf("exit code %d", code)
				}
				if resp, err := http.ReadResponse(bufio.NewReader(c), nil); err == nil {
					t.Errorf("the request in flight was answered %d, want the connection dropped", resp.StatusCode)
				}
				close(release)
			}
			if code := p.wait(t, 10*time.Second); code != 0 {
				t.Errorf("exit code %d", code)
			}
			if _, err := os.Stat(pidFile); !os.IsNotExist(err) {
				t.Errorf("pid file left behind: %v", err)
			}
			if b := readFile(t, filepath.Join(dir, "error.log")); !strings.Contains(b, tc.log) {
				t.Errorf("error log lacks %q:\n%s", tc.log, b)
			}
		})
	}
}

// writeSelfSigned writes a fresh key and a self-signed certificate for
// name with the given serial number to cert and key.
func writeSelfSigned(t *testing.T, cert, key, name string, serial int64) {
	t.Helper()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(serial),
		Subject:      pkix.Name{CommonName: name},
		DNSNames:     []string{name},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &priv.PublicKey, priv)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, cert, string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})))
	writeFile(t, key, string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})))
}

// TestReloadRereadsCertificatesInARealProxy: "wisp proxy -s reload" makes
// the running process read its certificate files again, though the config
// text is the same; a keep-alive TLS connection from before the reload
// keeps serving; a certificate file that no longer loads fails the reload
// as in nginx 1.22 (checked: "-s reload" exits 1, a HUP logs the emerg), and
// the last good certificate stays.
func TestReloadRereadsCertificatesInARealProxy(t *testing.T) {
	dir := shortDir(t)
	cert, key := filepath.Join(dir, "site.crt"), filepath.Join(dir, "site.key")
	writeSelfSigned(t, cert, key, "a.test", 1)
	port := freePort(t)
	addr := "127.0.0.1:" + strconv.Itoa(port)
	conf := filepath.Join(dir, "proxy.conf")
	writeFile(t, conf, fmt.Sprintf(`pid %s/wisp.pid;
error_log %s/error.log;
events {}
http {
    access_log off;
    server {
        listen %s ssl;
        server_name a.test;
        ssl_certificate %s;
        ssl_certificate_key %s;
        location / { return 200 "ok\n"; }
    }
}
`, dir, dir, addr, cert, key))
	p := start(t, dir, nil, "proxy", "-c", conf)
	waitFor(t, p, 10*time.Second, "the pid file", func() bool {
		_, err := os.Stat(filepath.Join(dir, "wisp.pid"))
		return err == nil
	})
	serial := func() int64 {
		c, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true, ServerName: "a.test"})
		if err != nil {
			t.Fatalf("handshake: %v", err)
		}
		defer c.Close()
		return c.ConnectionState().PeerCertificates[0].SerialNumber.Int64()
	}
	if s := serial(); s != 1 {
		t.Fatalf("serial %d before the reload, want 1", s)
	}
	kc, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true, ServerName: "a.test"})
	if err != nil {
		t.Fatal(err)
	}
	defer kc.Close()
	br := bufio.NewReader(kc)
	ask := func() {
		t.Helper()
		kc.SetDeadline(time.Now().Add(5 * time.Second))
		io.WriteString(kc, "GET / HTTP/1.1\r\nHost: a.test\r\n\r\n")
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("keep-alive TLS connection: %v", err)
		}
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 || string(b) != "ok\n" || resp.Close {
			t.Fatalf("keep-alive TLS connection got %d %q close=%v", resp.StatusCode, b, resp.Close)
		}
	}
	ask()

	writeSelfSigned(t, cert, key, "a.test", 2)
	if code, out := run(t, dir, nil, "", "proxy", "-c", conf, "-s", "reload"); code != 0 {
		t.Fatalf("-s reload: exit %d: %s", code, out)
	}
	waitFor(t, p, 10*time.Second, "the new certificate", func() bool { return serial() == 2 })
	ask()

	// As nginx 1.22 does, -s reads the whole config first, so it refuses
	// to send the signal; a direct HUP gets the error into the log.
	writeFile(t, cert, "not a certificate\n")
	want := `[emerg] cannot load certificate "` + cert + `": PEM_read_bio_X509_AUX() failed`
	if code, out := run(t, dir, nil, "", "proxy", "-c", conf, "-s", "reload"); code != 1 || !strings.Contains(out, want) {
		t.Errorf("-s reload with a broken certificate: exit %d, %q; want 1 and %q", code, out, want)
	}
	p.signal(syscall.SIGHUP)
	waitFor(t, p, 10*time.Second, "the failed reload in the error log", func() bool {
		b, _ := os.ReadFile(filepath.Join(dir, "error.log"))
		return strings.Contains(string(b), "[emerg] ") && strings.Contains(string(b), strings.TrimPrefix(want, "[emerg] "))
	})
	if s := serial(); s != 2 {
		t.Errorf("serial %d after a failed reload, want the last good certificate's 2", s)
	}
	ask()
}
